"""The console front end: commands one per line from a terminal or a pipe, answers printed.

Forms ask one field per line (an empty line takes the default in brackets); confirmations
are answered with `yes`. With `--json` every answer is one JSON object on stdout and the
prompts go to stderr, so a script can read stdout line by line.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TextIO

from adapters.console.places import OLD_HISTORY_FILE, history_file, user_folder, user_path
from adapters.console.render import printable, render_json, render_text_at, wrap
from bot.commands import Context, Dispatcher
from bot.domain import Actor
from bot.errors import ValidationError
from bot.views import (
    BulkProgress,
    BulkReview,
    Confirmation,
    CsvFile,
    FieldKind,
    FileReply,
    Form,
    FormField,
    Notice,
    Reply,
    Tone,
)

CANCEL_WORD = "/cancel"
FILE_HINT = "Give the path of the CSV file: bulk FILE"
TO_STANDARD_OUTPUT = "-"


class EndOfInput(Exception):
    """Standard input ended in the middle of a form or a confirmation."""


class OutputClosed(Exception):
    """Whoever read standard output went away (`| head` has its lines)."""


def end_as_reader_left() -> NoReturn:
    """Ends as Unix tools do when the reader of their output left: quietly, killed by
    SIGPIPE (the shell says status 141; `set -o pipefail` sees it), nothing on stderr."""
    with contextlib.suppress(OSError, ValueError):  # nothing more reaches the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(1)  # where there is no SIGPIPE (Windows)


def export_target(folder: Path, export: CsvFile) -> Path:
    """Where an export goes: the file the user named (refused if it exists, or its folder
    does not), a folder they named, or `folder` (the user's), with the export's own name (a
    new number when that is taken). Relative paths start at `folder`."""
    typed = export.path
    target = user_path(typed, folder) if typed else folder
    if not typed or target.is_dir() or typed.endswith(("/", os.sep)):
        if not target.is_dir():
            raise ValidationError(f"No folder {typed} in {folder}: create it, or give another.")
        path = target / export.filename
        stem, suffix, n = path.stem, path.suffix, 1
        while path.exists():
            path = target / f"{stem}-{n}{suffix}"
            n += 1
        return path
    if target.exists():
        raise ValidationError(
            f"{typed} exists already and was left as it is; nothing was written. Give another "
            "file name, or move that file away first."
        )
    if not target.parent.is_dir():
        raise ValidationError(f"No folder {target.parent}: create it, or give another.")
    return target


def read_local_file(path: str, folder: Path | None = None) -> tuple[bytes, str]:
    """The file `path` names, relative to `folder` (the user's, by default)."""
    file = user_path(path, folder or user_folder())
    if file.is_dir():
        raise ValidationError(f"{path} is a folder. {FILE_HINT}")
    if not file.is_file():
        raise ValidationError(f"No file {path} in {file.parent}. {FILE_HINT}")
    try:
        return file.read_bytes(), file.name
    except OSError as err:
        raise ValidationError(f"Cannot read {path}: {err.strerror}.") from None


class Console:
    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        json_mode: bool = False,
        actor: Actor | None = None,
        folder: Path | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.dispatcher = dispatcher
        self.stdin = stdin
        self.stdout = stdout
        self.json_mode = json_mode
        self.interactive = stdin.isatty()
        self.actor = actor or Actor(f"console:{getpass.getuser()}", getpass.getuser(), "console")
        # Paths the user types are found from here: the folder they typed the command in.
        self.folder = folder or user_folder()
        # Prompts must never mix into the JSON lines a script reads.
        self.prompt_out: TextIO = sys.stderr if json_mode else stdout
        self.output_closed = False
        self.notes = notes  # said after the greeting on a terminal (where the log is)

    # -- I/O ---------------------------------------------------------------------------------

    def _read(self, prompt: str) -> str:
        if self.interactive and not self.json_mode:
            try:
                return input(prompt)
            except EOFError:
                raise EndOfInput from None
        if prompt and (self.interactive or not self.json_mode):
            self._write(self.prompt_out, prompt)
        line = self.stdin.readline()
        if not line:
            raise EndOfInput
        line = line.rstrip("\r\n")
        if not self.interactive and not self.json_mode and prompt:
            self._write(self.stdout, line + "\n")  # echo piped answers: a transcript reads well
        return line

    def _write(self, stream: TextIO, text: str) -> None:
        """Writes and flushes; once the reader is gone (`| head`), writes nothing more and
        lets the command under way finish (a bulk import is not cut half-way by it)."""
        if self.output_closed:
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            self.output_closed = True

    def show(self, reply: Reply) -> None:
        text = (
            render_json(reply) if self.json_mode else printable(render_text_at(reply, self.width))
        )
        self._write(self.stdout, text + "\n")

    @property
    def width(self) -> int | None:
        """The terminal's width, read at each answer (windows are resized); without a
        terminal, COLUMNS when set, else None: a pipe gets every value whole."""
        if self.stdout.isatty():
            return shutil.get_terminal_size().columns
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) > 0 else None

    def _info(self, text: str) -> None:
        indent = text[: len(text) - len(text.lstrip())]
        self._write(
            self.prompt_out if self.json_mode else self.stdout, wrap(text.strip(), indent) + "\n"
        )

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Reads commands until the input ends; raises `OutputClosed` (after the command
        under way) when nobody reads the answers any more."""
        if self.interactive and not self.json_mode:
            self._enable_line_editing()
            self._info("Onboarding bot console. Type help for the commands, Ctrl-D to quit.")
            for note in self.notes:
                self._info(note)
        while True:
            if self.output_closed:
                raise OutputClosed
            try:
                line = self._read("onboard> " if self.interactive else "")
            except EndOfInput:
                return 0
            except KeyboardInterrupt:
                self._info("")
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.strip().lower() in ("quit", "exit"):
                return 0
            try:
                self.execute(line)
            except EndOfInput:
                self._info("Input ended before the question was answered; nothing was done.")
                return 0
            except KeyboardInterrupt:
                self._info("\nInterrupted; nothing more was done.")

    def execute(self, line: str) -> None:
        reply = self.dispatcher.handle(line, self._context())
        self.follow(reply)

    def _context(self) -> Context:
        return Context(
            self.actor,
            read_file=lambda path: read_local_file(path, self.folder),
            progress=self._progress,
            file_hint=FILE_HINT,
        )

    def _progress(self, progress: BulkProgress) -> None:
        self.show(progress)

    def follow(self, reply: Reply) -> None:
        """Shows a reply, and carries on with it when it asks something of the user."""
        if isinstance(reply, Form):
            self.show(reply)
            self.fill(reply)
        elif isinstance(reply, Confirmation):
            self.show(reply)
            self.confirm(reply)
        elif isinstance(reply, BulkReview):
            self.show(reply)
            if reply.confirmation:
                self.show(reply.confirmation)
                self.confirm(reply.confirmation)
        elif isinstance(reply, FileReply):
            self._deliver(reply)
        elif isinstance(reply, CsvFile):
            self._export(reply)
        else:
            self.show(reply)

    def confirm(self, confirmation: Confirmation) -> None:
        answer = self._read(f"Type yes to {confirmation.confirm_label.lower()}: ")
        if answer.strip().lower() in ("yes", "y"):
            self.follow(self.dispatcher.handle(confirmation.confirm_line, self._context()))
        elif confirmation.cancel_line:
            self.show(self.dispatcher.handle(confirmation.cancel_line, self._context()))
        else:
            self.show(Notice("Not confirmed; nothing was changed."))

    def _deliver(self, reply: FileReply) -> None:
        """A file answer: to the path the user gave (`-`: standard output), else into their
        folder under its own name, never over a file that is there."""
        if reply.destination == TO_STANDARD_OUTPUT and not self.json_mode:
            self._write(self.stdout, reply.content.decode("utf-8-sig"))
            return
        wanted = reply.destination
        if (
            wanted
            and wanted.endswith(("/", os.sep))
            and not user_path(wanted, self.folder).is_dir()
        ):
            self.show(Notice(f"No folder {wanted} in {self.folder}.", Tone.FAILURE))
            return
        try:
            path = self._save(reply)
        except OSError as err:
            where = wanted or str(self.folder)
            self.show(Notice(f"Cannot write {where}: {err.strerror}.", Tone.FAILURE))
            return
        self.show(reply)
        self._info(f"Saved {path}")

    def _save(self, reply: FileReply) -> Path:
        target = user_path(reply.destination, self.folder) if reply.destination else self.folder
        if not target.is_dir():
            target.write_bytes(reply.content)  # the file the user named: theirs to overwrite
            return target
        path = target / reply.filename
        stem, suffix, n = path.stem, path.suffix, 1
        while path.exists():
            path = target / f"{stem}-{n}{suffix}"
            n += 1
        path.write_bytes(reply.content)
        return path

    def _export(self, export: CsvFile) -> None:
        """Writes an export where the user said (a file, or a folder for its default name),
        else under its default name in the current folder; a file the user named is never
        overwritten, a default name that is taken gets a number."""
        if export.path == TO_STANDARD_OUTPUT:
            if self.json_mode:  # standard output carries one JSON object per answer
                self.show(
                    Notice(
                        "With --json the CSV cannot go to standard output: give a file name "
                        "(export failed failed.csv) or a folder.",
                        Tone.FAILURE,
                    )
                )
                return
            for piece in export.pieces():
                self._write(self.stdout, piece.decode("utf-8-sig"))
            return
        try:
            path = export_target(self.folder, export)
        except ValidationError as err:
            self.show(Notice(str(err), Tone.FAILURE))
            return
        try:
            with path.open("xb") as out:
                rows = export.write(out)
        except OSError as err:
            path.unlink(missing_ok=True)
            self.show(Notice(f"Could not write {path}: {err.strerror or err}.", Tone.FAILURE))
            return
        except BaseException:
            path.unlink(missing_ok=True)  # no half-written file left behind
            raise
        text = f"Wrote {export.title.lower()} to {path}: {rows:,} row{'s' if rows != 1 else ''}."
        if self.json_mode:
            answer = {"type": "Export", "tone": "success", "path": str(path), "rows": rows}
            self._write(self.stdout, json.dumps({**answer, "summary": text}) + "\n")
        else:
            self.show(Notice(text, Tone.SUCCESS))

    # -- forms -------------------------------------------------------------------------------

    def fill(self, form: Form) -> None:
        self._info(f"(Empty line takes the [default]; {CANCEL_WORD} stops the form.)")
        values: dict[str, object] = {}
        defaults: dict[str, object] = {f.name: f.default for f in form.fields}
        pending = list(form.fields)
        while True:
            for field in pending:
                value = self._ask(field, defaults[field.name])
                if value is None:
                    self.show(Notice("Form cancelled; nothing was saved."))
                    return
                values[field.name] = value
                for other, filled in field.fills.get(str(value), {}).items():
                    defaults[other] = filled
            try:
                reply = self.dispatcher.submit(form.kind, form.context, values, self._context())
            except ValidationError as err:
                self.show(Notice(str(err), Tone.FAILURE))
                bad = [f for f in form.fields if f.name in err.field_errors]
                if not bad:
                    return
                for f in bad:  # ask again only what is wrong, with what was typed as default
                    defaults[f.name] = values[f.name]
                pending = bad
                continue
            self.follow(reply)
            return

    def _ask(self, field: FormField, default: object) -> object | None:
        label = field.label + ("" if field.required else " (optional)")
        if field.kind is FieldKind.MULTI_CHOICE:
            return self._ask_many(field, default)
        if field.kind is FieldKind.CHOICE and len(field.choices) <= 20:
            for i, choice in enumerate(field.choices, 1):
                self._info(f"  {i}) {choice.label}")
        if field.help:
            self._info(f"  {field.help}")
        answer = self._read(f"{label} [{default}]: ")
        if answer.strip() == CANCEL_WORD:
            return None
        answer = answer.strip()
        if not answer:
            return default
        if field.kind is FieldKind.CHOICE and answer.isdigit() and len(field.choices) <= 20:
            index = int(answer) - 1
            if 0 <= index < len(field.choices):
                return field.choices[index].value
        if field.kind is FieldKind.CHOICE:
            for choice in field.choices:
                if answer.casefold() in (choice.value.casefold(), choice.label.casefold()):
                    return choice.value
        return answer

    def _ask_many(self, field: FormField, default: object) -> list[str] | None:
        chosen = list(default) if isinstance(default, list | tuple) else []
        group = None
        for i, choice in enumerate(field.choices, 1):
            if choice.group != group:
                group = choice.group
                self._info(f"  {group}:")
            mark = "x" if choice.value in chosen else " "
            self._info(f"   [{mark}] {i:2}) {choice.label}")
        self._info(
            f"  {field.help} Type numbers to add (+12) or remove (-3), or a full list (1,2,5)."
        )
        answer = self._read(f"{field.label} [{len(chosen)} selected]: ").strip()
        if answer == CANCEL_WORD:
            return None
        if not answer:
            return chosen
        return _apply_selection(answer, field, chosen)

    @staticmethod
    def _enable_line_editing() -> None:
        try:
            import readline
        except ImportError:  # not on every platform; the console still works without it
            return
        history = history_file()
        with contextlib.suppress(OSError):
            readline.read_history_file(history if history.exists() else OLD_HISTORY_FILE)
        import atexit

        atexit.register(_save_history, readline.write_history_file, history)


def _save_history(write: Callable[[Path], None], history: Path) -> None:
    with contextlib.suppress(OSError):
        history.parent.mkdir(parents=True, exist_ok=True)
        write(history)


def _apply_selection(answer: str, field: FormField, chosen: list[str]) -> list[str]:
    """ "+12 -3" edits the selection; "1,2,5" replaces it; names work instead of numbers."""
    tokens = [t.strip() for t in answer.replace(";", ",").split(",") if t.strip()]
    if len(tokens) == 1 and (" +" in answer or " -" in answer):
        tokens = answer.split()
    edits = all(t[0] in "+-" for t in tokens)
    result = list(chosen) if edits else []
    for token in tokens:
        sign = token[0] if token[0] in "+-" else "+"
        key = token.lstrip("+-").strip()
        value = key
        if key.isdigit() and 1 <= int(key) <= len(field.choices):
            value = field.choices[int(key) - 1].value
        if sign == "+" and value not in result:
            result.append(value)
        elif sign == "-" and value in result:
            result.remove(value)
    return result
