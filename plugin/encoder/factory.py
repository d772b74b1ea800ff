"""Which encoder a command gets: the running service over gRPC, or the models in-process."""

from __future__ import annotations

from plugin.encoder.protocol import QueryEncoder
from plugin.settings import PluginSettings
from schemas.errors import ModelUnavailableError
from vectorizer_service import ServiceSettings, model_files_problem

__all__ = ["open_encoder"]


def open_encoder(
    plugin: PluginSettings, service: ServiceSettings, *, compose_models: bool = True
) -> QueryEncoder:
    """The service over gRPC when ``plugin.service_address`` is set, else the models in-process
    (without the composed-query stage models when ``compose_models`` is false). Model files
    that are not there are refused before anything loads (:func:`model_files_problem`)."""
    if plugin.service_address:
        from plugin.encoder.grpc import GrpcEncoder

        key = plugin.service_api_key.get_secret_value() if plugin.service_api_key else None
        encoder: QueryEncoder = GrpcEncoder(plugin.service_address, api_key=key)
        return encoder
    problem = model_files_problem(service.model, service.pretrained)
    if problem is not None:
        raise ModelUnavailableError(problem)
    from plugin.encoder.local import LocalEncoder

    return LocalEncoder(service, compose_models=compose_models)
