"""create_asr_backend / asr_model_key and where the configured Whisper model is looked up."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from maied.asr.embedded import EMBEDDED_WHISPER_NAME
from maied.asr.factory import asr_model_key, create_asr_backend
from maied.asr.whisper_weights import locate_whisper_model, prepare_whisper_model
from maied.errors import BackendUnavailable, MissingExtra, ModelNotFound
from maied.settings import Settings
from tests.asr.asr_settings import asr_test_settings


def settings(tmp_path: Path, **values: str) -> Settings:
    return asr_test_settings(tmp_path / "data", **values)


def test_unknown_backend_is_backend_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable) as err:
        create_asr_backend("wav2vec", settings(tmp_path))
    assert err.value.code == "BACKEND_UNAVAILABLE" and err.value.status == 422
    assert "whisper" in err.value.message and "chunkformer" in err.value.message


@pytest.mark.skipif(importlib.util.find_spec("chunkformer") is not None, reason="chunkformer is installed")
def test_chunkformer_without_its_extra_is_missing_extra(tmp_path: Path) -> None:
    with pytest.raises(MissingExtra) as err:
        create_asr_backend("chunkformer", settings(tmp_path))
    assert err.value.details["extra"] == "chunkformer"
    assert "--with chunkformer" in err.value.message


def test_model_key_changes_only_with_what_changes_the_model(tmp_path: Path) -> None:
    base = settings(tmp_path)
    same = settings(tmp_path, WHISPER_BEAM_SIZE="2", WHISPER_LANGUAGE="vi")
    other = settings(tmp_path, WHISPER_MODEL_VARIANT="large-v3")
    assert asr_model_key("whisper", base) == asr_model_key("whisper", same)
    assert asr_model_key("whisper", base) != asr_model_key("whisper", other)
    assert asr_model_key("whisper", base) != asr_model_key("chunkformer", base)


def test_embedded_is_located_without_placing_it(tmp_path: Path) -> None:
    where = locate_whisper_model(settings(tmp_path))
    assert where.embedded and not where.present
    assert where.looked_at == [tmp_path / "data" / "models" / EMBEDDED_WHISPER_NAME]
    assert not (tmp_path / "data" / "models").exists()


def test_name_is_found_under_models_dir(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "models" / "my-whisper"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"x")
    assert prepare_whisper_model(settings(tmp_path, WHISPER_MODEL_VARIANT="my-whisper")) == folder


def test_seed_alias_maps_to_the_erax_repository_and_its_folder(tmp_path: Path) -> None:
    where = locate_whisper_model(settings(tmp_path, WHISPER_MODEL_VARIANT="erax-wow-turbo"))
    assert where.hub_id == "erax-ai/EraX-WoW-Turbo-V1.1-CT2"
    assert tmp_path / "data" / "models" / "EraX-WoW-Turbo-V1.1-CT2" in where.looked_at
    folder = tmp_path / "data" / "models" / "EraX-WoW-Turbo-V1.1-CT2"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"x")
    assert locate_whisper_model(settings(tmp_path, WHISPER_MODEL_VARIANT="erax-wow-turbo")).path == folder


def test_missing_local_folder_is_model_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model"
    with pytest.raises(ModelNotFound) as err:
        create_asr_backend("whisper", settings(tmp_path, WHISPER_MODEL_VARIANT=str(missing)))
    assert str(missing) in err.value.message and "maied models pull" in err.value.message


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_hub_name_that_cannot_be_downloaded_names_the_paths_looked_at(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as err:
        create_asr_backend("whisper", settings(tmp_path, WHISPER_MODEL_VARIANT="maie-tests/no-such-model"))
    models = tmp_path / "data" / "models"
    assert str(models / "maie-tests" / "no-such-model") in err.value.message
    assert "maied models pull" in err.value.message
    assert err.value.details["looked_at"]


def test_folder_with_broken_weights_is_model_not_found(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"not a ctranslate2 model")
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelNotFound) as err:
        create_asr_backend("whisper", settings(tmp_path, WHISPER_MODEL_VARIANT=str(folder)))
    assert str(folder) in err.value.message


def test_whisper_language_codes_include_vietnamese_and_english() -> None:
    from maied.asr.whisper import supported_languages

    codes = supported_languages()
    assert {"vi", "en"} <= codes and "xx" not in codes
