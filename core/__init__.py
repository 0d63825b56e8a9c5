"""The engine: the data path from a folder of images to answers, and nothing of the app.

ingest -> encoders -> index -> query -> analysis / eval; learn trains a head from frozen
features, cli and demo drive it all from the command line.
"""
