#!/usr/bin/env python3
"""A streaming chat loop: each line read from stdin is a user turn, and the
reply streams to stdout piece by piece. The conversation stays in one
session, so each turn only evaluates its new text. Ends at end of input.

  chat.py --model tinyllama-v0-q4_0.gguf
  printf 'Hi!\\nTell me a story.\\n' | chat.py --model stories260K.gguf --temp 0

The prompt format is plain text ("User: ...\\nAssistant:"), which any model
can continue; a reply ends at "\\nUser:", an end-of-generation token, or
--max-tokens. Ctrl-C stops the current reply.
"""

import argparse
import sys

import loci

STOP = "\nUser:"


class Chat:
    """The session plus what the next turn must add to it."""

    def __init__(self, session, args):
        self.session = session
        self.args = args
        self.ended_at_stop = False  # the cache already ends with "\nUser:"

    def turn_text(self, line):
        if self.session.position == 0:
            return "User: %s\nAssistant:" % line
        if self.ended_at_stop:
            return " %s\nAssistant:" % line
        return "%s %s\nAssistant:" % (STOP, line)

    def after(self, result):
        """Brings the cache level with the text shown, ready for the next turn."""
        self.ended_at_stop = False
        if result is None or result.stop_reason == loci.StopReason.EOG:
            return  # an end-of-text token is not kept: the conversation goes on
        if result.stop_reason == loci.StopReason.CONTEXT_FULL:
            print("\n[context full: starting a new conversation]", file=sys.stderr)
            self.session.reset()
            return
        # The last sampled token was shown (or completed the stop string) but
        # is not evaluated yet.
        self.session.eval([result.last_token])
        self.ended_at_stop = result.stop_reason == loci.StopReason.STRING

    def reply(self, line):
        text = self.turn_text(line)
        try:
            stream = self.session.generate(text, max_tokens=self.args.max_tokens, temperature=self.args.temp,
                                           seed=self.args.seed, stop=[STOP])
        except loci.OutOfRangeError:
            stream = None
        if stream is not None:
            try:
                return self.stream(stream)
            except loci.OutOfRangeError:
                pass
        # The turn does not fit after the conversation so far: start afresh.
        print("[context full: starting a new conversation]", file=sys.stderr)
        self.session.reset()
        return self.stream(self.session.generate(self.turn_text(line), max_tokens=self.args.max_tokens,
                                                 temperature=self.args.temp, seed=self.args.seed, stop=[STOP]))

    def stream(self, stream):
        out = sys.stdout
        with stream:  # closing it on Ctrl-C stops the generation
            try:
                for piece in stream:
                    out.write(piece)
                    out.flush()
            except KeyboardInterrupt:
                out.write(" [stopped]")
        out.write("\n")
        out.flush()
        self.after(stream.result)
        return stream.result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a GGUF file")
    ap.add_argument("--n-ctx", type=int, default=1024, help="context length (default 1024)")
    ap.add_argument("--temp", type=float, default=0.7, help="temperature; 0 is greedy (default 0.7)")
    ap.add_argument("--max-tokens", type=int, default=128, help="most tokens per reply (default 128)")
    ap.add_argument("--seed", type=int, default=None, help="sampling seed (default: the library's)")
    ap.add_argument("--threads", type=int, default=0, help="compute threads (default 0: one per core)")
    ap.add_argument("--verbose", action="store_true", help="print token counts and speed to stderr")
    args = ap.parse_args(argv)

    interactive = sys.stdin.isatty()
    with loci.Model(args.model) as model, \
            loci.Session(model, n_ctx=args.n_ctx, n_threads=args.threads) as session:
        chat = Chat(session, args)
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                break  # end of input
            line = line.strip()
            if not line:
                continue
            if not interactive:
                print("> " + line)
            print("assistant:", end="", flush=True)
            result = chat.reply(line)
            if args.verbose and result is not None:
                print("[%d prompt + %d generated tokens, %s, %.1f tokens/s; context %d/%d]"
                      % (result.prompt_tokens, result.generated_tokens, result.stop_reason.name,
                         result.generated_tokens / result.decode_seconds if result.decode_seconds else 0.0,
                         session.position, session.n_ctx), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
