"""Image generators and renderers: diffusion, CLIP scoring, cards, charts, photo matching (one file each)."""
