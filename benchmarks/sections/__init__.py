"""The benchmark sections of `bench.py`, one module each. Importing a module registers its section (and the child functions
it runs) with `bench.section`; the order of the imports below is the order in which `bench.py` runs the sections."""
from . import steps, trainer, topics, chains, predict, backbones, scoring, collate, gpu
