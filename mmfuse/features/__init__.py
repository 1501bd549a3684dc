"""Feature extraction for ``mmfuse extract``: frames of raw videos in, per-frame features out.

``frames`` reads image folders and video files (PyAV, imported only when a video is decoded),
``timm_backbone`` turns frames into features, ``extract`` runs the two over a dataset.
"""
