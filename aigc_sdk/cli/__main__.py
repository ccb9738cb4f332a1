"""``python -m aigc_sdk.cli`` runs the ``aigc`` command."""

from aigc_sdk.cli.app import main

main()
