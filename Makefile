# Entry points: `make test` and `make demo` (both set up .venv first). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ROOT := datasets/Cityscapes/
DEMO_FLAGS := --dataroot $(DEMO_ROOT) --label_nc 35 --loadSize 256 --use_instance --fg --n_downsample_G 2 \
	--max_frames_per_gpu 2 --n_frames_total 6 --gpu_ids -1

.PHONY: setup test demo lint clean-demo

setup: $(VENV)/.installed

# Re-installs only when the requirement files change.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

test: setup
	OMP_NUM_THREADS=2 $(PY) -m pytest

lint: setup
	$(PY) -m ruff check .

demo: setup
	@if [ -d $(DEMO_ROOT)train_A ]; then echo "sample dataset already in $(DEMO_ROOT)"; \
	else $(PY) scripts/make_sample_dataset.py --dataroot $(DEMO_ROOT); fi
	$(PY) scripts/inspect_dataset.py $(DEMO_FLAGS)

clean-demo:
	rm -rf $(DEMO_ROOT) checkpoints/demo results/demo runs/demo
