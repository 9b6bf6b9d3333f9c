"""examples/python/chat.py on stories260K: streams replies, keeps the
conversation in the session, exits cleanly at end of input."""

import importlib.util
import os
import subprocess
import sys

import loci

from conftest import SOURCE_DIR, model_path

SCRIPT = SOURCE_DIR / "examples" / "python" / "chat.py"


def run_chat(stdin, *args):
    return subprocess.run([sys.executable, str(SCRIPT), "--model", str(model_path("stories260K.gguf")),
                           "--threads", "1"] + list(args),
                          input=stdin, capture_output=True, text=True, timeout=120, env=dict(os.environ))


def test_replies_stream_and_match_the_library(stories):
    r = run_chat("Hi! Who are you?\nTell me a story.\n", "--temp", "0", "--max-tokens", "24", "--verbose")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "> Hi! Who are you?"
    first = r.stdout.split("assistant:", 1)[1].split("\n> ", 1)[0].rstrip("\n")
    assert first.strip()
    # The streamed reply is what the library generates for the same prompt.
    with loci.Session(stories, n_threads=1, n_ctx=1024) as s:
        expected = s.generate_text("User: Hi! Who are you?\nAssistant:", max_tokens=24, temperature=0,
                                   stop=["\nUser:"]).text
    assert first == expected
    assert "> Tell me a story." in out and r.stdout.count("assistant:") == 2
    second = r.stdout.rsplit("assistant:", 1)[1]
    assert second.strip()
    # The second turn only evaluated its own text: the context kept growing.
    stats = [line for line in r.stderr.splitlines() if line.startswith("[")]
    assert len(stats) == 2
    first_ctx = int(stats[0].split("context ")[1].split("/")[0])
    second_ctx = int(stats[1].split("context ")[1].split("/")[0])
    assert second_ctx > first_ctx > 24


def test_empty_input_exits_cleanly():
    r = run_chat("")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


def test_a_full_context_starts_a_new_conversation():
    r = run_chat("Tell me a story.\nAnd then?\nAnd then?\n", "--n-ctx", "48", "--max-tokens", "30", "--temp", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("assistant:") == 3
    assert "starting a new conversation" in r.stderr


def load_chat_module():
    spec = importlib.util.spec_from_file_location("chat_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bookkeeping_after_a_stop_string(stories, monkeypatch, capsys):
    # stories260K never writes "\nUser:"; stop at "," instead to take the
    # stop-string path: the cache must then hold every token of the reply.
    chat = load_chat_module()
    monkeypatch.setattr(chat, "STOP", ",")
    args = chat.argparse.Namespace(max_tokens=40, temp=0.0, seed=None)
    with loci.Session(stories, n_threads=1, n_ctx=512) as s:
        c = chat.Chat(s, args)
        result = c.reply("Once upon a time")
        assert result.stop_reason == loci.StopReason.STRING
        assert s.position == result.prompt_tokens + result.generated_tokens and c.ended_at_stop
        assert c.turn_text("Hello").startswith(" Hello")
        before = s.position
        result = c.reply("Hello")
        assert result.prompt_tokens == len(stories.tokenize(" Hello\nAssistant:", add_bos=False))
        assert s.position >= before + result.prompt_tokens
    assert "assistant" not in capsys.readouterr().err
