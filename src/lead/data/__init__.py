"""Datasets: the HumanML3D/KIT folder format (`humanml3d`), its checker (`check`), and builders of
HumanML3D-format folders from public motion data (`bandai_namco`, captions from labels in `captions`)."""
