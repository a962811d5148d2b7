"""Root pytest configuration (collection only; test fixtures live under tests/)."""

# tests/test_pynq_*.py are the 2017-style example scripts (`sudo python3
# tests/test_pynq_mnist.py --train ... --test ...`), run by hand on a board: never collected.
collect_ignore_glob = ["tests/test_pynq_*.py"]
