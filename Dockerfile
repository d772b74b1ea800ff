# Grounded vectorizer service: HTTP :8080 (Weaviate multi2vec-clip contract + /compose, /metrics)
# and gRPC :50052, in one process. CPU image by default; for CUDA see docs/deploy-cuda.md.
#
#   docker build -t grounded .
#   docker run -p 8080:8080 -p 50052:50052 grounded
#
# The image is a drop-in for the official Weaviate Helm chart's multi2vec-clip module
# (docs/kubernetes.md): it listens on 8080, answers /.well-known/live and /.well-known/ready there,
# takes ENABLE_CUDA ("1"/"0") and CUDA_CORE as Weaviate's own inference containers do (GROUNDED_*
# settings win when set), and carries its weights, so it starts without network.
#
# Weights: baked in at build time; the build arguments choose the model:
#   docker build --build-arg MODEL=ViT-L-14 --build-arg PRETRAINED=openai -t grounded:vitl14 .
# Or build without them (--build-arg BAKE_WEIGHTS=false) and mount a model cache or your own files
# at /models (e.g. -e HF_HOME=/models/hf, or -e GROUNDED_PRETRAINED=/models/vitb32.safetensors).
#
# Stages: `base` (Python, the non-root user, settings every Grounded image shares) and `service`
# (torch, the package, the weights). The default target is the last stage; build others with
# --target NAME.
# `slim` (docs/onnx.md): the same contract without torch, on ONNX Runtime, serving the baked model
# exported by `onnx-export`:  docker build --target slim -t grounded:slim .
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS base

# OMP_WAIT_POLICY: idle OpenMP threads sleep rather than spin; the event loop and the image
# decoders need the cores between batches. Port 8080 is what the Helm chart's probes and Service use.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_WAIT_POLICY=PASSIVE \
    GROUNDED_HOST=0.0.0.0 \
    GROUNDED_HTTP_PORT=8080 \
    GROUNDED_GRPC_PORT=50052

RUN useradd --system --create-home --uid 10001 grounded
WORKDIR /app


FROM base AS service

# CPU wheels by default (no 2 GB of CUDA libraries); docs/deploy-cuda.md builds the CUDA variant.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG MODEL=ViT-B-32
ARG PRETRAINED=openai
ARG HF_HOME=/opt/grounded/hf
ARG BAKE_WEIGHTS=true

ENV HF_HOME=${HF_HOME} \
    GROUNDED_MODEL=${MODEL} \
    GROUNDED_PRETRAINED=${PRETRAINED} \
    GROUNDED_U2NET_HOME=/opt/grounded/u2net

# torch is not pinned on purpose (pyproject.toml): the index's build comes with a matching torchvision.
# hadolint ignore=DL3013
RUN pip install --index-url "${TORCH_INDEX_URL}" torch torchvision

COPY pyproject.toml README.md ./
COPY schemas schemas
COPY vectorizer_service vectorizer_service
COPY plugin plugin
COPY scripts scripts
# The package itself with its torch extra (hadolint reads the extra as an unpinned package).
# hadolint ignore=DL3013
RUN pip install ".[torch]" \
    && python scripts/fetch_u2netp.py /opt/grounded/u2net \
    && if [ "${BAKE_WEIGHTS}" = "true" ]; then \
         python -c "from vectorizer_service.settings import ServiceSettings; \
from vectorizer_service.runtime.loader import load_embedder; load_embedder(ServiceSettings(device='cpu'))"; \
       fi \
    && mkdir -p /models "${HF_HOME}" \
    && chown -R grounded /models /opt/grounded

# The numeric id lets Kubernetes check runAsNonRoot without a name lookup.
USER 10001
EXPOSE 8080 50052

HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/.well-known/ready' % os.environ.get('GROUNDED_HTTP_PORT', '8080'), timeout=3)"]

CMD ["python", "-m", "vectorizer_service"]


# --- slim: torch-free serving of the baked model, exported to ONNX (docs/onnx.md) ---------------
FROM service AS onnx-export
RUN grounded models export-onnx --out /opt/grounded/onnx --device cpu

FROM base AS slim
ENV GROUNDED_BACKEND=onnx \
    GROUNDED_MODEL=/opt/grounded/onnx \
    GROUNDED_U2NET_HOME=/opt/grounded/u2net
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY vectorizer_service vectorizer_service
COPY plugin plugin
# hadolint ignore=DL3013
RUN pip install ".[onnx]"
COPY --from=onnx-export /opt/grounded/onnx /opt/grounded/onnx
COPY --from=onnx-export /opt/grounded/u2net /opt/grounded/u2net
USER 10001
EXPOSE 8080 50052
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/.well-known/ready' % os.environ.get('GROUNDED_HTTP_PORT', '8080'), timeout=3)"]
CMD ["python", "-m", "vectorizer_service"]

# The default target stays the torch `service` image.
FROM service
