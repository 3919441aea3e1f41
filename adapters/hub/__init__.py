"""MSP hub backends behind `bot.ports.Hub`."""
