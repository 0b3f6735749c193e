import sys

from grader.similarity.cli import main

sys.exit(main(prog="python -m grader.similarity"))
