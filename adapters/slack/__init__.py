"""The Slack front end: Bolt listeners that translate slash commands, buttons, modals, App Home
and channel notices to the one command grammar, and view models to Block Kit."""
