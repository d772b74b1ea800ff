"""Deploy tier: deploy/ manifests, Helm values and docker-compose.yml checked offline, and the image's
drop-in check (``make deploy-check``)."""
