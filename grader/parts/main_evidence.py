"""Evidence that HW3_main.ipynb did the work it reports: the grader recomputes one reported figure.

The main notebook's metrics are its own report (:mod:`grader.parts.main_notebook`); a notebook could type them in. So after its
cells ran, the grader asks the kernel for the model the notebook selected (``selection["best_net"]``, the kit's
``main-best-train`` cell, wrapped by ``main-best-tta`` in its test-time augmentation when validation chose it; else
``selected``) and has it classify the MNIST test images in an order drawn from the
batch's secret seed (:func:`grader.parts.probes.main_evidence`, in the kernel; :data:`IMAGES` of them: the cost stays small beside the notebook's own passes over the test
set); the predicted labels come back (raw integers, :mod:`grader.selfcheck.wire`) and the grader
scores them, in its own process, against the test labels it reads from the kit's ``data/mnist.npz``. The accuracy
must agree with the notebook's ``mnist_test_accuracy`` within :func:`tolerance`; otherwise none of the main
notebook's points are given (:func:`grader.parts.main_notebook.judge_run`): its report is not evidence of the work.

A model whose predictions do not come from its parameters (a table of the test set's labels, a constant class
reported at its 0.11: 10/10 and 8/10 for a notebook of two cells) is no evidence either: the kernel also classifies
500 of the images with every parameter's entries shuffled (:func:`grader.parts.probes.shuffled_labels`); a trained
network then keeps about a tenth of its labels, such a model all of them. The grader cannot tell then whether the
notebook did its work (an honest network whose training diverged also keeps them): its rows await a TA's review.

The notebook computes that figure with the same model on all 10,000 images (``accuracy(selected, X_test, y_test)``);
a random sample of them has the same accuracy up to sampling: the tolerance is 5 standard deviations of a sample of
:data:`IMAGES` drawn without replacement (0.015 at an accuracy of 0.97, 0.026 at 0.9) plus :data:`ROUND_OFF` (float32
round-off that flips a near tie when the images come in other batches). An untrained model reported as trained, or
a report inflated by a few points, does not pass. Cost: one pass of the model over 2,000 images (about 2 s for
the kit's small CNN on the course machine, against 10,000 twice in the notebook's own cells; the kit's test-time
augmentation classifies each image three times).
"""
import numpy as np

from grader import KIT_ROOT
from grader.selfcheck.wire import decode

IMAGES = 2000           # test images the grader has the model classify
TEST_SIZE = 10000       # MNIST's test set, on which the notebook reports its accuracy
ROUND_OFF = 0.002
REPORTED = "mnist_test_accuracy"
MAX_SHUFFLED_AGREEMENT = 0.5   # share of labels a model may keep with its parameters shuffled (a trained one: ~0.1)


def tolerance(accuracy):
    """How far the sample's accuracy may be from the reported one: 5 standard deviations of a sample of IMAGES
    drawn without replacement from the TEST_SIZE images, plus ROUND_OFF."""
    p = min(max(float(accuracy), 0.0), 1.0)
    return 5 * (p * (1 - p) / IMAGES * (1 - IMAGES / TEST_SIZE)) ** 0.5 + ROUND_OFF

def test_labels():
    """The MNIST test labels, read in the grader's process from the kit's own archive."""
    with np.load(KIT_ROOT / "data" / "mnist.npz", allow_pickle=False) as archive:
        return archive["y_test"].astype(np.int64)


def judge(payload, metrics, seed):
    """(agrees, message): does the selected model reproduce the notebook's reported test accuracy, with predictions
    that come from its parameters? agrees None: the grader cannot tell (a TA reads the notebook's work)."""
    reported = metrics.get(REPORTED)
    if not isinstance(reported, (int, float)) or isinstance(reported, bool):
        return False, f"the notebook reported no {REPORTED}, so nothing it reports can be checked"
    if not isinstance(payload, dict):
        return False, "the grader could not ask the notebook's kernel for its selected model"
    if payload.get("missing"):
        return False, ('no selected model to check: selection["best_net"] (the best model section) holds no network '
                       f"with a forward(), so the reported {REPORTED} {reported:.4f} cannot be recomputed")
    if not payload.get("ok"):
        return False, f"the selected model failed on the test images: {payload.get('error', 'an unknown error')}"
    try:
        values = decode(payload.get("values"))
        labels = values["labels"]
    except (KeyError, ValueError, TypeError) as exc:
        return False, f"the selected model's predictions could not be read ({exc})"
    truth = test_labels()
    truth = truth[np.random.default_rng([seed, 31]).permutation(len(truth))[:IMAGES]]
    if labels.shape != truth.shape:
        return False, f"the selected model gave {labels.size} predictions for the {truth.size} test images"
    recomputed = float(np.mean(labels == truth))
    if abs(recomputed - reported) > tolerance(reported):
        return False, (f"the notebook reports {REPORTED} {reported:.4f}, but its selected model classifies "
                       f"{recomputed:.4f} of {IMAGES} test images drawn by the grader right")
    shuffled = values.get("shuffled")
    if not payload.get("parameters") or not isinstance(shuffled, np.ndarray) or not 0 < shuffled.size <= labels.size:
        return None, ("the selected model exposes no parameters (getParameters() of it, or of the network it holds, "
                      "returns no array), so the grader cannot tell that its predictions come from training")
    kept = float(np.mean(shuffled == labels[:shuffled.size]))
    if kept > MAX_SHUFFLED_AGREEMENT:
        return None, (f"with its parameters shuffled, the selected model still gives {kept:.0%} of its labels on "
                      f"{shuffled.size} test images: its predictions do not come from its parameters (a network "
                      "that did not train, or a model that does not read its weights)")
    return True, (f"the grader's own sample of {IMAGES} test images, classified by the selected model: "
                  f"{recomputed:.4f} (within {tolerance(reported):.3f} of it)")
