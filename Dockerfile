# Grounded vectorizer service: HTTP :8000 (Weaviate multi2vec-clip contract + /compose, /metrics)
# and gRPC :50052, in one process. CPU image by default; for CUDA see docs/deploy-cuda.md.
#
#   docker build -t grounded .
#   docker run -p 8000:8000 -p 50052:50052 -v grounded-models:/models grounded
#
# Weights: by default they are fetched into the /models volume on first start (HF_HOME=/models/hf)
# and reused afterwards; or mount your own files at /models and point GROUNDED_PRETRAINED at one
# (e.g. -e GROUNDED_PRETRAINED=/models/vitb32.safetensors -e GROUNDED_OFFLINE=true).
# To bake them into the image instead (no network at run time):
#   docker build --build-arg BAKE_WEIGHTS=true --build-arg HF_HOME=/opt/grounded/hf \
#                --build-arg MODEL=ViT-B-32 --build-arg PRETRAINED=openai -t grounded:baked .
# (and do not mount over HF_HOME at run time).
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

# CPU wheels by default (no 2 GB of CUDA libraries); docs/deploy-cuda.md builds the CUDA variant.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG MODEL=ViT-B-32
ARG PRETRAINED=openai
ARG HF_HOME=/models/hf
ARG BAKE_WEIGHTS=false

# OMP_WAIT_POLICY: idle OpenMP threads sleep rather than spin; the event loop and the image
# decoders need the cores between batches.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_WAIT_POLICY=PASSIVE \
    HF_HOME=${HF_HOME} \
    GROUNDED_MODEL=${MODEL} \
    GROUNDED_PRETRAINED=${PRETRAINED} \
    GROUNDED_U2NET_HOME=/opt/grounded/u2net \
    GROUNDED_HOST=0.0.0.0 \
    GROUNDED_HTTP_PORT=8000 \
    GROUNDED_GRPC_PORT=50052

WORKDIR /app
RUN pip install --index-url "${TORCH_INDEX_URL}" torch torchvision

COPY pyproject.toml README.md ./
COPY schemas schemas
COPY vectorizer_service vectorizer_service
COPY plugin plugin
COPY scripts scripts
RUN pip install . \
    && python scripts/fetch_u2netp.py /opt/grounded/u2net \
    && if [ "${BAKE_WEIGHTS}" = "true" ]; then \
         python -c "from vectorizer_service.settings import ServiceSettings; \
from vectorizer_service.runtime.loader import load_embedder; load_embedder(ServiceSettings(device='cpu'))"; \
       fi

RUN useradd --system --create-home --uid 10001 grounded \
    && mkdir -p /models \
    && chown -R grounded /models /opt/grounded
USER grounded
VOLUME ["/models"]
EXPOSE 8000 50052

HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/.well-known/ready' % os.environ.get('GROUNDED_HTTP_PORT', '8000'), timeout=3)"

CMD ["python", "-m", "vectorizer_service"]
