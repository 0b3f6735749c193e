"""How a cell (or a probe) ended in a kernel: :class:`Status`, and :class:`CellResult` with what it printed."""
import enum
import re
from dataclasses import dataclass, field

# A SyntaxError's place as IPython names it: the cell's file, a number of IPython's ("(1858343632.py, line 19)", in
# older IPython "(<ipython-input-3-5c1d...>, line 19)"), which means nothing to the student; the line does.
IPYTHON_CELL_FILE = re.compile(r"\((?:[^(),]*[/\\])?(?:\d+\.py|<ipython-input-[^>]*>), line (?P<line>\d+)\)")


class Status(str, enum.Enum):
    """How a cell ended. (A str: ``result.status == "timeout"`` reads as it did.)"""
    OK = "ok"
    ERROR = "error"          # it raised (sys.exit() included: IPython keeps the kernel)
    TIMEOUT = "timeout"      # it ran over its limit and was interrupted
    STUCK = "stuck"          # it ran over its limit and did not answer the interrupt: only a restart frees the kernel
    DEAD = "dead"            # the kernel died (a crash, os._exit, the memory limit)
    EXIT = "exit"            # it called quit()/exit(); the kernel was kept
    BUDGET = "budget"        # not run: the submission's time is up
    FULL = "full"            # not run: the kernel filled its folder (the launcher stopped it)

    def __str__(self):       # printed as its value ("ok"), as before it was an Enum
        return self.value


@dataclass
class CellResult:
    status: Status
    outputs: list = field(default_factory=list)
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    dropped: int = 0                     # characters of output over OUTPUT_LIMIT

    @property
    def ok(self):
        return self.status is Status.OK

    def describe(self):
        if self.status in (Status.TIMEOUT, Status.STUCK):
            return "timed out"
        if self.status is Status.DEAD:
            return "the kernel died (crash or memory limit)"
        if self.status is Status.FULL:
            return f"stopped: {self.evalue}; nothing more of this notebook was run"
        if self.status is Status.BUDGET:
            return "not run: the submission used up its time (restarts and replays included)"
        if self.status is Status.EXIT:
            return "called quit() or exit(), which would end the notebook's kernel; the grader ignored it"
        if self.status is Status.ERROR:
            first = self.evalue.strip().splitlines()[0][:300] if self.evalue.strip() else ""
            first = IPYTHON_CELL_FILE.sub(r"(line \g<line> of the cell)", first)
            return f"{self.ename}: {first}" if first else self.ename
        return "ok"
