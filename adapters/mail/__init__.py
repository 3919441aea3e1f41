"""Mail backends behind `bot.ports.Mailer`."""
