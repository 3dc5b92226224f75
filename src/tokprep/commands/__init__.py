"""The `tokprep` subcommands, one module each (or a small group), each with `register(subparsers)`.

`tokprep.cli.COMMAND_MODULES` lists them. A command module holds the command-line face of a
feature: its options, reading arguments and standard input, printing text or `--json`. The
feature's logic stays in the library module the command calls, so Python users get it too.
Options that several commands share (`--tokenizer`, `--json`, `--color`, reading `-` as standard
input) are spelled once, in `tokprep.commands.options`.
"""
