"""The rooms of bench/compare_reference.py (ours against NVIDIA's vid2vid, each side in its own process).

spec.py (configurations, flags, the spec a worker receives) and inputs.py (the inputs and weight files both sides
get) are shared. shims.py and nvidia_side.py are NVIDIA's side: the run-time adaptations of their code and its
driver; only a process meant for NVIDIA's code runs them. our_side.py runs our code. session.py times one call,
worker.py runs a side in its own process, parity.py alternates the calls and compares the sides, report.py prints.
Every module imports only the standard library and torch at its top, so that either side's process can load this
package; our packages (models, options, data, util) are imported inside our side's functions only, since NVIDIA's
code has packages of the same names.
"""
