# Entry points: `make test` and `make demo` (both set up .venv first). See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ROOT := datasets/Cityscapes/
# A tiny label->street model (DIS flow, no VGG weights needed) trained for about 5 minutes on a 2-core CPU.
DEMO_NET := --dataroot $(DEMO_ROOT) --label_nc 35 --loadSize 256 --use_instance --fg --n_downsample_G 2 \
	--ngf 32 --n_blocks 4 --gpu_ids -1
DEMO_TRAIN := --name demo $(DEMO_NET) --num_D 1 --ndf 32 --no_vgg --flow_net dis --max_frames_per_gpu 3 \
	--n_frames_total 6 --niter 10 --niter_decay 5 --niter_step 4 --display_freq 12 --print_freq 6

.PHONY: setup test browser demo lint clean-demo

setup: $(VENV)/.installed

# Re-installs only when the requirement files change. The pose estimator (MediaPipe) goes in without its declared
# dependencies: requirements-pose.txt says why.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-pose.txt requirements-pose-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -r requirements-pose.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements-pose-nodeps.txt
	touch $@

# Two threads unless OMP_NUM_THREADS asks for fewer (the parity tests hold for any kernel order; docs/TESTING.md).
test: setup browser
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest

# Headless Chromium, with which two tests check the HTML pages (Debian's package, about 15 s, installed as root;
# part of `make test`'s set-up). Without it those tests fail, saying to run this.
BROWSERS := chromium chromium-browser google-chrome
browser:
	@found=$$(for name in $(BROWSERS); do command -v $$name; done | head -n 1); \
	if [ -n "$$found" ]; then echo "browser: $$found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		&& echo "browser: $$(command -v chromium)"; \
	else echo "make browser: not root; install Chromium yourself (Debian/Ubuntu:" \
		"sudo apt-get install --no-install-recommends chromium)" >&2; exit 1; fi

lint: setup
	$(PY) -m ruff check .

demo: setup
	@date +%s > .demo_started
	@if [ -d $(DEMO_ROOT)train_A ]; then echo "sample dataset already in $(DEMO_ROOT)"; \
	else $(PY) scripts/make_sample_dataset.py --dataroot $(DEMO_ROOT); fi
	$(PY) scripts/inspect_dataset.py $(DEMO_NET) > /dev/null
	@if [ -f checkpoints/demo/latest_net_G0.pth ]; then echo "checkpoints/demo exists: not retraining (make clean-demo)"; \
	else $(PY) train.py $(DEMO_TRAIN); fi
	@# the run's architecture flags come from checkpoints/demo/opt.json (docs/INFERENCE.md)
	$(PY) test.py --name demo --dataroot $(DEMO_ROOT) --gpu_ids -1 --use_real_img
	@echo "demo done in $$(( $$(date +%s) - $$(cat .demo_started) )) s (after make setup). Look at:"
	@echo "  results/demo/test_latest/index.html   generated frames and one mp4 per sequence"
	@echo "  checkpoints/demo/web/index.html       training snapshots"
	@echo "  .venv/bin/tensorboard --logdir runs   losses and images (or: source .venv/bin/activate; tensorboard --logdir runs)"
	@rm -f .demo_started

clean-demo:
	rm -rf $(DEMO_ROOT) checkpoints/demo results/demo runs/demo .demo_started
