"""Command modules of the ``yitu`` CLI; each is listed in ``web.cli.COMMAND_MODULES``."""
