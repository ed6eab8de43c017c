"""Report figures as PNG (matplotlib, Agg backend: no display needed).

* balanced accuracy vs parameter count, mean with 95% CI bars, one marker per KD setting;
* KD-sensitivity heatmaps (temperature x alpha) of each student, where a grid was run;
* training curves: training loss and validation selection metric per epoch, mean over seeds;
* paired KD - noKD differences per student with their 95% CI (KD setting chosen on validation);
* learned entanglement maps: pair strengths of a circuit's learned entanglers, mean over seeds;
* quantum students under shots and noise: the metric per condition, mean with 95% CI over seeds;
* a metric against the signal-to-noise ratio, one line per model (the noise-stress study).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ecgq.eval.report import setting_label  # noqa: E402


def _total_params(entry: Mapping[str, Any]) -> int:
    p = entry.get("params") or {}
    return int(p.get("classical", 0)) + int(p.get("quantum", 0))


def accuracy_vs_params(summary: Sequence[Mapping[str, Any]], path: str, metric: str = "balanced_accuracy") -> str:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kd, marker, label in ((False, "o", "no KD"), (True, "s", "KD")):
        entries = [e for e in summary if bool(e["kd"]) == kd and e["metrics"][metric]["mean"] is not None]
        if not entries:
            continue
        x = np.array([_total_params(e) for e in entries], float)
        y = np.array([e["metrics"][metric]["mean"] for e in entries])
        err = np.array([e["metrics"][metric]["ci95"] or 0.0 for e in entries])
        # The metric lives in [0, 1]; a t-interval over few seeds can overshoot, so draw it clipped.
        yerr = np.stack([np.minimum(err, y), np.minimum(err, 1.0 - y)])
        ax.errorbar(x, y, yerr=yerr, fmt=marker, capsize=4, label=label, alpha=0.85)
        for xi, yi, e in zip(x, y, entries):
            tag = e["model"] + (f" T={e['temperature']:g},a={e['alpha']:g}" if kd else "")
            ax.annotate(tag, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (classical + quantum)")
    split = summary[0].get("split", "test") if summary else "test"
    n_seeds = sorted({int(e.get("n_seeds", 0)) for e in summary})
    seeds = "/".join(str(n) for n in n_seeds)
    ax.set_ylabel(f"{metric} ({split}; mean ± 95% CI, {seeds} seeds)")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def kd_heatmaps(summary: Sequence[Mapping[str, Any]], directory: str, metric: str = "balanced_accuracy") -> list[str]:
    """One heatmap per model that was run over more than one (T, alpha) setting."""
    paths = []
    for model in dict.fromkeys(e["model"] for e in summary):
        kd = [e for e in summary if e["model"] == model and e["kd"]]
        temps = sorted({e["temperature"] for e in kd})
        alphas = sorted({e["alpha"] for e in kd})
        if len(temps) * len(alphas) < 2:
            continue
        grid = np.full((len(temps), len(alphas)), np.nan)
        for e in kd:
            mean = e["metrics"][metric]["mean"]
            grid[temps.index(e["temperature"]), alphas.index(e["alpha"])] = np.nan if mean is None else mean
        fig, ax = plt.subplots(figsize=(1.2 * len(alphas) + 2, 0.8 * len(temps) + 1.8))
        image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_yticks(range(len(temps)), [f"{t:g}" for t in temps])
        ax.set_xlabel("alpha")
        ax.set_ylabel("temperature T")
        for i in range(len(temps)):
            for j in range(len(alphas)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", color="w", fontsize=8)
        n = kd[0]["n_seeds"]
        ax.set_title(f"{model}: {metric} ({kd[0].get('split', 'test')}, mean of {n} seeds)", fontsize=9)
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        path = os.path.join(directory, f"kd_heatmap_{model}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def training_curves(histories: Mapping[str, Sequence[Mapping[str, Any]]], path: str) -> str:
    """``histories``: run name -> per-seed dicts with ``train_loss`` and ``val_metric`` lists."""
    names = list(histories)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in names:
        for key, ax in (("train_loss", axes[0]), ("val_metric", axes[1])):
            curves = [h[key] for h in histories[name] if h.get(key)]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            mean = np.mean([c[:length] for c in curves], axis=0)
            ax.plot(np.arange(1, length + 1), mean, label=name)
    axes[0].set_title("training loss (mean over seeds)")
    axes[1].set_title("validation selection metric (mean over seeds)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def kd_paired_differences(comparison: Sequence[Mapping[str, Any]], path: str,
                          metric: str = "balanced_accuracy") -> str | None:
    """Mean paired test difference KD - noKD per student with its 95% CI; ``None`` if none is defined.

    ``comparison`` is :func:`ecgq.eval.kd_comparison.compare`'s output. A zero line makes "KD
    helps" readable at a glance; each label carries the chosen setting and the number of pairs.
    """
    rows = [(c, c["differences"][metric]) for c in comparison
            if c["status"] == "ok" and metric in c["differences"] and c["differences"][metric]["mean_diff"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.6))
    y = np.arange(len(rows))
    for i, (c, d) in enumerate(rows):
        mean = d["mean_diff"]
        if d["ci95"] is not None:
            ax.errorbar(mean, i, xerr=[[mean - d["ci95"][0]], [d["ci95"][1] - mean]], fmt="o", capsize=4, color="C0")
        else:
            ax.plot(mean, i, "o", color="C0", mfc="none")
        p = "n/a" if d["p_ttest"] is None else f"{d['p_ttest']:.3g}"
        ax.annotate(f"p={p}", (mean, i), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
    s = [c["kd_setting"] for c, _ in rows]
    ax.set_yticks(y, [f"{c['model']}\nT={k['temperature']:g} a={k['alpha']:g}, n={d['n_pairs']}"
                      for (c, d), k in zip(rows, s)], fontsize=8)
    ax.axvline(0.0, color="k", lw=0.8)
    split = rows[0][0].get("split") or "test"
    sel = rows[0][0]["selection"]["metric"]
    ax.set_xlabel(f"{metric}: KD - noKD ({split}, paired by seed; mean ± 95% CI)")
    ax.set_title(f"KD setting per student chosen on val {sel}", fontsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def entanglement_maps(runs: Sequence[Mapping[str, Any]], directory: str) -> dict[str, str]:
    """One heat map per model whose runs carry a learned ``inspection.entanglement`` (qubit x qubit
    pair strengths), a panel per KD setting averaged over its seeds; ``{model: path}``."""
    groups: dict[str, dict[str, list[np.ndarray]]] = {}
    for r in runs:
        strengths = (r.get("inspection") or {}).get("entanglement")
        if strengths is None:
            continue
        setting = setting_label(r)
        groups.setdefault(r["model"], {}).setdefault(setting, []).append(np.asarray(strengths, float))
    paths = {}
    for model, settings in groups.items():
        fig, axes = plt.subplots(1, len(settings), figsize=(max(5.6, 4.2 * len(settings)), 3.8), squeeze=False)
        for ax, (setting, maps) in zip(axes[0], settings.items()):
            mean = np.mean(maps, axis=0)
            image = ax.imshow(mean, vmin=0.0, vmax=1.0, cmap="viridis")
            n = mean.shape[0]
            ax.set_xticks(range(n))
            ax.set_yticks(range(n))
            ax.set_xlabel("qubit")
            ax.set_ylabel("qubit")
            ax.set_title(f"{setting} ({len(maps)} seed{'s' if len(maps) != 1 else ''})", fontsize=9)
            fig.colorbar(image, ax=ax, fraction=0.046, label="|sin(theta/2)| of the pair's CRX")
        fig.suptitle(f"{model}: learned entanglement, mean over layers and seeds", fontsize=9)
        fig.tight_layout()
        path = os.path.join(directory, f"entanglement_{model}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths[model] = path
    return paths


def nisq_conditions(summary: Sequence[Mapping[str, Any]], path: str, metric: str = "balanced_accuracy") -> str | None:
    """The metric of every quantum student per NISQ condition (exact, shots, depolarising noise),
    mean with 95% CI over seeds, one line per model and KD setting; None when nothing was evaluated."""
    entries = [e for e in summary if e.get("nisq")]
    if not entries:
        return None
    labels = list(dict.fromkeys(label for e in entries for label in e["nisq"]["conditions"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(labels) + 2), 4.2))
    for k, e in enumerate(entries):
        stats = [(e["nisq"]["conditions"].get(label) or {}).get(metric) or {} for label in labels]
        y = np.array([s.get("mean") if s.get("mean") is not None else np.nan for s in stats], float)
        err = np.array([s.get("ci95") or 0.0 for s in stats], float)
        offset = (k - (len(entries) - 1) / 2) * 0.06  # side by side, so that CI bars do not hide each other
        ax.errorbar(np.arange(len(labels)) + offset, y, yerr=err, marker="o", capsize=3,
                    label=f"{e['model']} ({setting_label(e)}, {e['n_seeds']} seeds)")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20)
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"Quantum students under shots and gate noise ({entries[0]['nisq']['n_windows']} test windows)",
                 fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def metric_vs_snr(curves: Sequence[Mapping[str, Any]], path: str, title: str,
                  metric: str = "balanced_accuracy") -> str:
    """One line per model and setting: ``metric`` (mean with 95% CI bars over seeds) against the
    signal-to-noise ratio in dB, the clean records drawn as the right-most point ("clean").

    ``curves``: ``{"label", "points": [{"snr": float | None (clean), "mean", "ci95", "n_seeds"}]}``, with
    optional ``model`` (one colour each) and ``setting`` (``KD ...`` drawn dashed).
    """
    snrs = sorted({p["snr"] for c in curves for p in c["points"] if p["snr"] is not None})
    clean_x = (max(snrs) + 6.0) if snrs else 0.0
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    models = list(dict.fromkeys(c.get("model", c["label"]) for c in curves))
    colours = plt.get_cmap("tab10" if len(models) <= 10 else "tab20")
    for curve in curves:
        points = sorted((p for p in curve["points"] if p["mean"] is not None),
                        key=lambda p: clean_x if p["snr"] is None else p["snr"])
        if not points:
            continue
        x = np.array([clean_x if p["snr"] is None else p["snr"] for p in points], float)
        y = np.array([p["mean"] for p in points])
        err = np.array([p["ci95"] or 0.0 for p in points])
        kd = str(curve.get("setting", "")).startswith("KD")  # one colour per model; KD dashed
        ax.errorbar(x, y, yerr=np.stack([np.minimum(err, y), np.minimum(err, 1.0 - y)]), marker="s" if kd else "o",
                    linestyle="--" if kd else "-", color=colours(models.index(curve.get("model", curve["label"]))),
                    capsize=3, elinewidth=0.8, label=curve["label"], alpha=0.85)
    ticks = snrs + ([clean_x] if curves else [])
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{s:g}" for s in snrs] + (["clean"] if curves else []))
    ax.set_xlabel("SNR (dB)")
    n_seeds = sorted({int(p["n_seeds"]) for c in curves for p in c["points"] if p.get("n_seeds")})
    ax.set_ylabel(f"{metric} (mean ± 95% CI, {'/'.join(map(str, n_seeds))} seeds)")
    ax.set_ylim(0.0, 1.02)
    import textwrap

    ax.set_title(textwrap.fill(title, 100), fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
