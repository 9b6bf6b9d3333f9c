"""loci.Model: loading (path and buffer), facts, metadata, tokens, errors."""

import glob
import os

import numpy as np
import pytest

import loci
from loci import constants as C

from conftest import GOLDEN, MODELS, golden, model_path


def test_info_agrees_with_the_file_and_golden(stories, stories_path):
    g = golden("stories260K__once__n64.json")
    info = stories.info
    assert info.architecture == "llama"
    assert info.n_vocab == g["n_vocab"] == stories.n_vocab
    assert (info.bos, info.eos) == (g["bos_id"], g["eos_id"])
    assert info.add_bos is True
    assert info.file_size == os.path.getsize(stories_path)
    # README: dim 64, 5 layers, 8 heads, 4 KV heads, ffn 172.
    assert (info.n_embd, info.n_layer, info.n_head, info.n_head_kv, info.n_ff) == (64, 5, 8, 4, 172)
    assert 0 < info.n_params < info.file_size


def test_metadata_values_and_types(stories):
    meta = stories.info.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == stories.info.n_layer
    assert meta["llama.context_length"] == stories.info.n_ctx_train
    assert meta["tokenizer.ggml.bos_token_id"] == stories.info.bos
    eps = meta["llama.attention.layer_norm_rms_epsilon"]
    assert isinstance(eps, float) and 0 < eps < 1e-3
    arrays = stories.info.metadata_arrays
    assert arrays["tokenizer.ggml.tokens"] == (C.LOCI_META_STRING, stories.n_vocab)
    assert not set(arrays) & set(meta)


@pytest.mark.parametrize("path", sorted(glob.glob(str(GOLDEN / "*.json"))), ids=os.path.basename)
def test_tokenize_matches_golden_prompt_tokens(path):
    g = golden(os.path.basename(path))
    with loci.Model(model_path(g["model_file"])) as m:
        tokens = m.tokenize(g["prompt"], add_bos=True)
        assert tokens == g["prompt_tokens"]
        assert [m.token_piece(t, special=True) for t in tokens] == g["prompt_pieces"]


def test_add_bos_and_special(stories):
    bos = stories.info.bos
    with_bos = stories.tokenize("Hello world")
    without = stories.tokenize("Hello world", add_bos=False)
    assert with_bos == [bos] + without
    assert stories.tokenize("<s>", add_bos=False, special=True) == [bos]
    assert stories.tokenize("<s>", add_bos=False) != [bos]
    assert stories.tokenize(b"Hello world", add_bos=False) == without  # bytes too


@pytest.mark.parametrize("text", ["Once upon a time", "Lily said: \"hi!\"\n\nThe end.",
                                  "naïve café — 日本語 🙂", ""])
def test_detokenize_round_trips(stories, text):
    tokens = stories.tokenize(text, add_bos=False)
    assert stories.detokenize(tokens) == text
    assert stories.detokenize_bytes(tokens) == text.encode("utf-8")
    # BOS shows only with special=True.
    assert stories.detokenize([stories.info.bos] + tokens) == text
    assert stories.detokenize([stories.info.bos] + tokens, special=True).startswith("<s>")


def test_detokenize_of_a_partial_character_is_replaced_not_raised(stories):
    # stories260K spells "日" with byte tokens; dropping the last leaves 2 of its 3 bytes.
    tokens = stories.tokenize("日", add_bos=False)
    raw = stories.detokenize_bytes(tokens[:-1])
    assert raw == "日".encode()[:2]
    assert stories.detokenize(tokens[:-1]) == "\ufffd"
    assert stories.token_piece_bytes(tokens[-1]) == "日".encode()[2:]


def test_eog(stories):
    assert stories.is_eog(stories.info.eos)
    assert not stories.is_eog(stories.tokenize("time", add_bos=False)[0])


def test_bad_paths_raise_io_error(tmp_path):
    with pytest.raises(loci.IoError) as e:
        loci.Model(tmp_path / "missing.gguf")
    assert isinstance(e.value, OSError)
    assert e.value.status == C.LOCI_ERR_IO
    assert "missing.gguf" in str(e.value)


def test_garbage_files_raise_invalid_model(tmp_path, stories_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"this is not a gguf file at all" * 100)
    with pytest.raises(loci.InvalidModelError) as e:
        loci.Model(junk)
    assert e.value.status == C.LOCI_ERR_INVALID_MODEL and str(e.value).startswith("invalid_model")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(stories_path.read_bytes()[:5000])
    with pytest.raises(loci.InvalidModelError):
        loci.Model(truncated)
    with pytest.raises(loci.InvalidModelError):
        loci.Model.from_buffer(b"GGUF" + bytes(200))


def test_an_old_gguf_version_is_unsupported():
    with pytest.raises(loci.UnsupportedError) as e:
        loci.Model(model_path("legacy/stories260K-gguf-v1-f32.gguf"))
    assert "version 1" in str(e.value)


def test_bad_token_ids(stories):
    # The library reports ids outside the vocabulary as out_of_range.
    with pytest.raises(loci.OutOfRangeError) as e:
        stories.token_piece(stories.n_vocab)
    assert e.value.status == C.LOCI_ERR_OUT_OF_RANGE and isinstance(e.value, ValueError)
    assert "512" in str(e.value)
    with pytest.raises(loci.OutOfRangeError):
        stories.detokenize([5, -1])
    with pytest.raises(loci.OutOfRangeError):
        stories.token_piece(2**40)  # does not fit the C type: refused, not wrapped
    with pytest.raises(loci.OutOfRangeError):
        stories.is_eog(2**32 + stories.info.eos)
    with pytest.raises(TypeError):
        stories.detokenize(["a"])


def test_from_buffer_equals_loading_the_path(stories, stories_path):
    data = stories_path.read_bytes()
    for source in (data, bytearray(data), memoryview(b"xx" + data)[2:], np.frombuffer(data, np.uint8)):
        with loci.Model.from_buffer(source) as m:
            assert m.info.n_params == stories.info.n_params and m.path is None
            with loci.Session(m, n_threads=1, n_ctx=32) as a, loci.Session(stories, n_threads=1, n_ctx=32) as b:
                tokens = stories.tokenize("Once upon a time")
                a.eval(tokens)
                b.eval(tokens)
                assert np.array_equal(a.logits(), b.logits())


def test_from_buffer_copy_outlives_the_source(stories_path):
    data = bytearray(stories_path.read_bytes())
    m = loci.Model.from_buffer(data)
    data[:] = bytes(len(data))  # the model reads its own copy
    del data
    with loci.Session(m, n_threads=1, n_ctx=32) as s:
        text = s.generate_text("Once upon a time", max_tokens=8, temperature=0).text
    assert text.startswith(", there was")
    m.close()


def test_close_and_context_manager(stories_path):
    with loci.Model(stories_path) as m:
        assert not m.closed
        session = loci.Session(m, n_threads=1, n_ctx=32)
    assert m.closed
    m.close()  # idempotent
    with pytest.raises(loci.InvalidArgumentError):
        m.tokenize("x")
    # A session outlives its model's handle (the library keeps what it needs).
    session.eval([1, 403])
    assert session.position == 2
    session.close()


def test_memory_estimates(stories, stories_path):
    small = loci.estimate_memory(stories_path, n_ctx=128)
    big = stories.estimate_memory(n_ctx=256)
    assert 1.9 * small.kv_cache < big.kv_cache <= 2 * small.kv_cache  # plus alignment
    assert small.weights_mapped == big.weights_mapped > 0
    assert small.total >= small.kv_cache + small.scratch
    with loci.Session(stories, n_threads=1, n_ctx=256) as s:
        assert s.memory.kv_cache == big.kv_cache
    with pytest.raises(loci.IoError):
        loci.estimate_memory(MODELS / "missing.gguf")


def test_memory_budget_is_enforced(stories):
    need = stories.estimate_memory(n_ctx=256)
    with pytest.raises(loci.OutOfMemoryError) as e:
        loci.Session(stories, n_threads=1, n_ctx=256, memory_budget=need.kv_cache // 2)
    assert isinstance(e.value, MemoryError)
    loci.Session(stories, n_threads=1, n_ctx=256, memory_budget=need.kv_cache + need.scratch).close()
