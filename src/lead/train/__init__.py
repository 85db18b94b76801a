"""Training: one small LightningModule per stage over plain nn.Modules, one shared plumbing."""
