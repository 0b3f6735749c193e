"""Evidence that HW3_main.ipynb did the work it reports: the grader recomputes one reported figure.

The main notebook's metrics are its own report (:mod:`grader.mainnb`); a notebook could type them in. So after its
cells ran, the grader asks the kernel for the model the notebook selected (``selection["best_net"]``, the kit's
``main-best-train`` cell; else ``selected``) and has it classify the MNIST test images in an order drawn from the
batch's secret seed; the predicted labels come back (raw integers, :mod:`grader.selfcheck.wire`) and the grader
scores them, in its own process, against the test labels it reads from the kit's ``data/mnist.npz``. The accuracy
must agree with the notebook's ``mnist_test_accuracy`` within :data:`TOLERANCE`; otherwise none of the main
notebook's points are given (:func:`grader.mainnb.judge_run`): its report is not evidence of the work.

The notebook computes that figure with the same model on the same images (``accuracy(selected, X_test, y_test)``),
so an honest run agrees to the image; the tolerance only absorbs float32 round-off that flips a near tie when the
images come in other batches. Cost: one pass of the model over 10,000 images (~1 s for the kit's MLP).
"""
import numpy as np

from grader.selfcheck.wire import decode

TOLERANCE = 0.005       # 50 of the 10,000 test images
REPORTED = "mnist_test_accuracy"
BATCH = 2000

# Run in the kernel once the notebook's cells ran: the selected model's labels for the test images, in the order
# of `seed`. Raw values only; the grader scores them.
PROBE = '''
def __hw3_main_evidence(seed, nonce):
    import numpy as _np
    from IPython.display import publish_display_data as _publish
    import grader.selfcheck as _c
    from grader.selfcheck.cases import set_mode as _set_mode
    from grader.selfcheck.messages import describe_exception as _describe
    _g = globals()
    _selection = _g.get("selection")
    _model = _selection.get("best_net") if isinstance(_selection, dict) else None
    _model = _g.get("selected") if _model is None else _model
    try:
        if _model is None or not callable(getattr(_model, "forward", None)):
            _out = {"ok": False, "missing": True}
        else:
            from data.mnist import load_mnist as _load
            _X = _load()[2]
            _order = _np.random.default_rng([seed, 31]).permutation(len(_X))
            _set_mode(_model, False)
            _labels = [_np.asarray(_model.forward(_X[_order[s:s + %(batch)d]])).argmax(axis=1)
                       for s in range(0, len(_X), %(batch)d)]
            _out = {"ok": True, "values": _c.encode({"labels": _np.concatenate(_labels).astype(_np.int64)})}
    except Exception as _exc:
        _out = {"ok": False, "error": _describe(_exc)}
    _publish({_c.MIME: dict(_out, nonce=nonce)})
''' % {"batch": BATCH}


def request(seed, nonce):
    """The code the grader runs in the kernel to ask for the evidence (after :data:`PROBE` is defined); its answer
    echoes `nonce` (grader.grade.probe_payload)."""
    return f"__hw3_main_evidence({int(seed)}, {nonce!r})"


def test_labels():
    """The MNIST test labels, read in the grader's process from the kit's own archive."""
    from grader.submission import KIT
    with np.load(KIT / "data" / "mnist.npz", allow_pickle=False) as archive:
        return archive["y_test"].astype(np.int64)


def judge(payload, metrics, seed):
    """(agrees, message): does the selected model reproduce the notebook's reported test accuracy?"""
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
        labels = decode(payload.get("values"))["labels"]
    except (KeyError, ValueError, TypeError) as exc:
        return False, f"the selected model's predictions could not be read ({exc})"
    truth = test_labels()
    order = np.random.default_rng([seed, 31]).permutation(len(truth))
    if labels.shape != truth.shape:
        return False, f"the selected model gave {labels.size} predictions for the {truth.size} test images"
    recomputed = float(np.mean(labels == truth[order]))
    if abs(recomputed - reported) > TOLERANCE:
        return False, (f"the notebook reports {REPORTED} {reported:.4f}, but its selected model classifies "
                       f"{recomputed:.4f} of the test images right when the grader runs it")
    return True, f"the grader recomputed {REPORTED} with the selected model: {recomputed:.4f}"
