"""What each source is worth, in-country monitoring against the truth, and the database path against Parquet.

Data: a synthetic population (40,000 travellers, 2017-2023: about 195,000 stays;
seed 1: the features and settings below were developed on the seed-0 draw, so
the figures come from a draw that chose nothing) drawn by the **default
generator, with hidden risk** (``make_crossings(...)``, as the risk benchmark draws
it, the same data as ``**HIDDEN_RISK``: a latent per traveller and noise per
stay, total SD 1 on the logit; 0.2% of land exits unrecorded; a drift of the
base rate), and its presence
reports, permit applications and enforcement records
(:func:`riskmodel.core.sources.generate.make_sources`). How strongly travellers
who will overstay behave differently (move, report, apply late) is an assumption
of the generator, not a measured fact: the gains below measure what the models
recover of it, not what real extracts would give. The sources' behaviour follows
whether the stay *will* overstay, hidden part included, so in the country they
tell something no entry record can; the effect sizes are those of the generator
before hidden risk (not raised for this benchmark).

* **Monitoring gain** (``risk_prauc_gain_all_sources``): a monitoring model is
  trained on snapshots of everyone in the country (not yet overstaying) every
  7 days from 2022-07-01 to 2023-06-09 (every 14 days before; weekly was tried
  once, on the seed-0 draw, and kept; to 2023-03-31 before the fourth round,
  see there), each labelled, as known on 2023-06-30,
  with whether the stay began to overstay within the 14 days after the snapshot
  (the issue's "most likely to overstay in the next 14 days", the horizon of the
  monitor's at-risk list; from the run of 2026-12-05 07:10, see "Third round":
  before, the label was the stay's eventual outcome and the rows whose outcome
  was not known on the label day were left out). Every row's label is known, so
  no row is left out. The model (``fit_monitor_model``) trains on the earlier
  three quarters of those days, stops early on the next eighth and calibrates on
  the latest eighth (from the fifth round, see there: before, one held-out
  quarter did both). It is evaluated on snapshots every 14 days from
  2023-06-30 to 2023-08-25 (an as-of holdout later than all training data),
  labelled the same way as known at the end of the data; the
  PR-AUC with every source over the PR-AUC with the crossings log only, same
  rows, same target, same settings. **Ceiling**: a PR-AUC is at most 1, so no
  model can gain more than 1 / (the crossings-only PR-AUC) on these rows:
  ``risk_prauc_gain_ceiling`` is that bound on seed 1 and
  ``risk_prauc_gain_ceiling_fresh_max`` the largest over the fresh draws; where
  it is below 1.2, the bar cannot be met by any model. Each source alone is added too; ``*_14d`` figures are on
  the rows the monitor lists as at risk (permit in force ending within 14 days;
  every positive is among them, by the target).
  In-country features from the sources: days since the last presence report and
  from entry to the first one (an arrival place left unreported), reports and
  places per 30 days in the country, whether the first place reported is unlike
  the declared accommodation, new places in the last 60 days, applications
  refused, pending and for how long (an extension is decided within days; a long
  wait precedes a refusal), conversions, and the permit in force; and (added
  2026-12-05, chosen on a 20,000-traveller seed-2 draw) the places moved to after
  the arrival day (count, per 30 days, and in the 60 days before the permit in
  force ends) and the declared stay against the permit in force.
* **Fresh draws** (``*_seed10`` to ``*_seed15``, ``*_fresh_mean``, ``_sd``, ``_range``):
  the monitoring gain on more draws of the same size, each pre-registered in
  the code before it was first drawn, on which nothing was chosen. Seeds 4 to 9
  (the rounds of 2026-12-05, old target) are in the prose below; seeds 10 to 15
  were pre-registered (commit 4281506) after the target changed and drawn once,
  in the run of 2026-12-05 07:10 (see "Figures of the new target"), then once
  more with the training window of the fourth round, pre-registered before
  (commit 812a23e), then once more with the fifth round's early-stopping and
  calibration days: the table. **The bar is read on** ``risk_prauc_gain_all_sources_fresh_mean``
  over seeds 10 to 15 (draws that chose nothing); seed 1's
  ``risk_prauc_gain_all_sources`` is reported beside it.
  **Oracles for monitoring**: no oracle of the in-country question exists in the
  truth table; ``monitor_pr_auc_entry_observable_oracle`` and ``..._entry_full_oracle``
  are the PR-AUC of the *entry-time* observable and full oracles on the same
  snapshot rows, for reference only: a monitoring model also knows the days spent
  and everything recorded since entry, so its ratio to them can exceed 1; and
  they score the eventual outcome, not the 14 days' target.
* **Entry-time model with all sources**: the risk issue's as-of backtest
  (configs/risk.yaml; the cut-off leaves the latest entries for the holdout, which
  is labelled once matured) with and without the sources' entry-time history
  features (earlier stays' reports, refusals, extensions, charges, deportations,
  counted only from records linked before the entry and still linked then). Ratios ``*_over_observable``
  are to the **observable oracle at entry** (the best probability from what is
  recorded at entry and the earlier recorded outcomes, the latent integrated out),
  the risk issue's bars; ``*_over_oracle_full`` to the full oracle (hidden risk
  known), what no model can reach. The sources' history of earlier stays tells
  little beyond the earlier recorded outcomes the observable oracle already uses,
  so no gain is expected at entry; the bars are the risk issue's, met with all
  sources (its benchmark has 1M stays; this one about a fifth of that, so the
  ratios carry wider intervals: ``*_95ci``).
* **Overstay lists** (``monitor_overstay_list_*``): on each holdout day, the
  monitor's list of stays past their permit in force against the truth (true
  final permit end, recorded exits only), pooled.
* **Database** (``sources_db_equals_parquet``): every table loaded into a
  temporary PostgreSQL server and read back; the snapshot features and scores on
  the first holdout day must equal those computed from the Parquet files (1) or
  not (0); ``skipped`` when no PostgreSQL server is installed.

*The next three paragraphs are under the old target (eventual outcome, rows of unknown outcome left out); the
"table below" they name is the old target's run of 2026-12-05 06:09 (commit 13ee844), not the table of this section.*

**Shortfall, as of the run of 2026-12-04** (``risk_prauc_gain_all_sources`` NOT
MET): it was 1.184 without hidden risk; with hidden risk and the earlier features
1.168 on the seed-0 draw. The in-country features listed above raised it to
1.198 there, weekly training snapshots to 1.224, both chosen on that draw; on
the fresh seed-1 draw it is 1.153 (crossings only 0.663 there against 0.625 on
seed 0, all sources 0.765 on both: most of the difference between draws is the
baseline's). LightGBM settings (7-31 leaves, 40-200 rows a leaf) moved it by
less than 0.01. Within bands of days to the permit end the sources add much more
(seed 0: PR-AUC 0.37 to 0.53 at 30-60 days, 0.04 to 0.32 beyond 120 days), but
the pooled figure is dominated by the days to the permit end, which the crossings
log knows for every stay not extended. The generator's effect sizes were not
raised to reach the bar: what the sources are worth here is what the generator
assumes of behaviour, a question for the data owner. The entry-time bars are met
with all sources on seed 1, PR-AUC by a margin well inside its interval; the
history features cost about 0.02 against crossings only (0.921) at entry.

**Round of 2026-12-05** (the table below is the full run; the figures in this
paragraph were measured first, under load, with the benchmark's own
``_fresh_draw_gain``: the same training and holdout snapshots and models as
``risk_prauc_gain_all_sources``; the table is the one to quote): with the
move and declared-stay features, seed 1 gives 1.164 (crossings only 0.6634,
unchanged; all sources 0.7724, from 0.7647): NOT MET. On the pre-registered
fresh draws, seed 4 gives 1.217 (0.654 to 0.796) and seed 5 1.193 (0.676 to
0.806); seed 6 1.142 (0.674 to 0.770): mean over the three fresh draws 1.184
(SD 0.038, range 1.142 to 1.217), NOT MET on the mean either; seed 1 lies
inside that spread. On the seed-2 development draw (20,000 travellers) the new
features moved the PR-AUC with all sources from 0.787 to 0.789, within what one
refit moves it; leaving out the declared stay against the permit in force cost
0.006, each move feature alone less than 0.004 either way. Training snapshots
from 2021-07 instead of 2022-07 were tried there too and dropped: they raised the
crossings-only baseline (0.691 to 0.705) more than all sources (0.789 to 0.788).

**Second round of 2026-12-05** (no change kept; developed on 20,000-traveller
draws of seeds 0, 2 and 3 only, with the benchmark's training and holdout
snapshots and models): within bands of days to the permit in force, the PR-AUC
of the *entry-time* observable oracle on the same rows at 30-59 days is above
the all-sources model's on seed 0 (0.578 against 0.515) and near it on seed 2
(0.563 against 0.598), and well above crossings only on both (0.351, 0.451):
the monitoring models learn the entry risk less well than the 1M-stay entry
model does; but giving both monitoring
models the oracle's own probability as a feature (a ceiling for stacking an
entry-time score) lowered the gain on seed 0 (1.203 to 1.140: crossings only
0.631 to 0.651, all sources 0.759 to 0.742), so it was not pursued. Averaging
five LightGBM seeds moved the gain by +0.009, -0.004 and +0.014 on seeds 0, 2
and 3 (mean +0.006, within what one refit moves it) and was dropped; monotone
constraints on the features whose direction the generator fixes (refusals,
pending days, days since the last report, moves, first place unlike the
declared one) lowered it on seed 0 (1.203 to 1.192). The generator's signals
were listed mechanism by mechanism (late refused applications in the last 30
days before the final permit end, half the places reported, a quarter of the
moves in the last 60 days, the first place unlike the declared accommodation,
a move rate about 6 times the compliant one); each has a feature in the form of
the mechanism (relative to the permit in force, per 30 days, windowed), and
far from the permit end they are weak by construction (a few reported moves a
year), which is where the pooled figure loses. Seeds 7, 8 and 9 were
pre-registered in the code (commit 653fbd8) before they were first drawn
(once each, with the benchmark's own ``_fresh_draw_gain``, on a loaded machine);
the run of the table below draws all six fresh seeds again and gives the same
figures (seed 7 1.226, seed 8 1.177, seed 9 1.173). **The bar is read on** the figure
declared for it, ``risk_prauc_gain_all_sources`` on seed 1: 1.164, NOT MET;
the honest estimate is the mean over the six fresh draws that chose nothing
(seeds 4 to 9), 1.188 (SD 0.031, range 1.142 to 1.226; seeds 7 to 9 alone 1.192): NOT MET.

**Third round of 2026-12-05: the label, not the features** (looked at on the
20,000-traveller seed-0 development draw only). The old label, the stay's
eventual outcome as known on the label day with the unknown ones left out,
chose rows by their outcome: a stay still in the country with a permit running
past the label day entered only if it had already left, early, so always as a
negative. Of the 31,748 training rows (everyone not overstaying on the training
days) it left out 32%: 0.5% of those within 14 days of their permit end, 6% at
60-119 days, 22% at 120-239 and 69% at 240 or more; at 240 or more, 0.8% of the
rows kept were positive against 4.1% of all of them by the truth's eventual
outcome (120-239: 3.1% against 4.3%). In the holdout (labelled at the end of the
data) it left out 79% of the rows at 240 days or more and kept none positive
(4.5% by the truth): 139 of the 517 holdout rows that would overstay were not
in it at all, 134 of them 120 days or more from their permit end. Every kept row whose permit ran
past the label day was a negative (4,553 training, 832 holdout rows). The
selection made the days to the permit end a better separator than it is: alone
(fewer days, higher score) its holdout PR-AUC was 0.380 on the kept rows, 0.307
on every row against the truth's eventual outcome.
The target is now the issue's question, an overstay beginning within the 14 days
after the snapshot, known for every row once 14 days have passed, on every stay
in the country not yet overstaying (``monitor_training_table(horizon_days=14)``,
the monitor's horizon; tests/test_sources.py checks the labels against the truth's
final permit end, that every such stay is a row, and that reading the labels six
months later changes no row or label; each fails on the old label). On the seed-0
draw the gain went from 1.203 (0.631 to 0.759) to 1.080 (0.908 to 0.981): the
next 14 days' question is mostly *whose permit in force ends in the next 14 days*,
which the crossings log knows for every stay not extended, so the crossings only
model already reaches 0.908 there and no model can reach a ratio above
1/0.908 = 1.10. On this target the bar of 1.2 cannot be met on any draw where the
crossings only PR-AUC is above 1/1.2 = 0.833. The eventual-outcome question over
everyone in the country (where the sources add most: far from the permit end,
0.04 to 0.32 beyond 120 days on seed 0 in the first round) cannot be labelled
without waiting for the longest permits to end or modelling the censoring
(survival models), and is not the issue's question; not tried.
**Figures of the new target** (training snapshots to 2023-03-31; not the table below, which is the fifth round's: the run started 2026-12-05 07:10, commit 12b45c7,
4007 s under a load average of 20-30 from other jobs; while it ran, the fresh
draws' and seed 1's figures were also read from the running process, the same
as the table's; each fresh draw read once): fresh seeds 10 to 15
give 1.062, 1.068, 1.086, 1.074, 1.103 and 1.089, **mean 1.080** (SD 0.015,
range 1.062 to 1.103): **NOT MET**, the figure the bar is read on. Crossings only
reaches 0.888 to 0.924 (mean 0.906) and all sources 0.973 to 0.987 (mean 0.979):
the sources close about three quarters of what crossings only leaves
((0.979 - 0.906) / (1 - 0.906) = 0.77), and the ceiling 1 / PR-AUC(crossings only)
is 1.08 to 1.13 on these draws. Seed 1 gives 1.071 (crossings only 0.917, so
at most 1.091; all sources 0.981; each source alone 0.946 with the presence
reports, 0.966 with the permit applications, which alone know the extended
permit in force, 0.924 with enforcement; on the 441 rows whose permit ends
within 14 days, which hold all 213 positives of its 12,755 holdout rows, 0.936
to 0.981). The entry-time oracles score the eventual outcome, not the next 14
days (PR-AUC 0.12 and 0.15 on these rows): no reference here.
The other bars do not depend on the monitoring label and are met as before
(overstay lists 1.0 and 1.0, entry-time ratios 0.996 and 0.903, database 1).

**Fourth round of 2026-12-05: the ceiling, and training up to when the labels
are settled** (the run started 2026-12-05 09:51, commit 2cbd863, 2538 s under
load; not the table below, which is the fifth round's). The ceiling is now in the table: 1.086 on seed 1 and at most 1.118 over
the fresh draws (1.076 to 1.118), so no model can meet the bar of 1.2 on any of
these draws; NOT MET is a property of the 14 days' target and of how much the
crossings log already knows (whose permit ends next), not of the models. The
training snapshots ended 2023-03-31, 91 days before the label day, a leftover
of the eventual-outcome label, which needed months to mature (as did
``riskmodel monitor --label-gap-days``, 90). A 14 days' label is settled once
its 14 days have passed and the records that decide it are on file: exits are
in the crossings log at the crossing, and the permit in force comes from the
granted extensions, which the generator (and the contract) put on file at the
decision, copies up to 3 days later; 7 days are allowed for a decision keyed in
late (``LATE_RECORD_DAYS``), and ``monitor_training_table`` refuses an extract
whose decisions came later than that (tests/test_sources.py shows such a label
turning from an overstay into none on the old code). The snapshots now end
21 days (``LABEL_GAP_DAYS``) before the label day, on 2023-06-09: ten more weeks,
88,965 training rows instead of 66,388. This was pre-registered in the code
(commit 812a23e) before any fresh draw was drawn with it, for the target's sake,
not for a figure: on the 20,000-traveller development draws it moved the gain
by noise, 1.080 to 1.078 on seed 0 (crossings only 0.908 to 0.912, all sources
0.981 to 0.983), 1.061 to 1.054 on seed 2 (0.901 to 0.907, 0.957 to 0.956) and,
measured after the registration, 1.121 to 1.120 on seed 3 (0.877 to 0.880,
0.983 to 0.986). On the fresh draws 10 to 15 it gives 1.057, 1.061, 1.079,
1.062, 1.095 and 1.076, **mean 1.072** (SD 0.015; 1.080 with the old window):
**NOT MET**. The more recent snapshots help the crossings only model more
(mean PR-AUC 0.906 to 0.914) than all sources (0.979 to 0.979), which still
close three quarters of what crossings only leaves
((0.979 - 0.914) / (1 - 0.914) = 0.76). Seed 1 gives 1.064 (crossings only 0.921,
all sources 0.980; 1.071 with the old window); the other bars are unchanged
(overstay lists 1,145 of 1,145, entry-time ratios 0.996 and 0.903, database 1).

**Fifth round of 2026-12-05: the monitoring model stops and calibrates on
different days** (the table below: the run started 2026-12-05 12:52, 2289 s under
load). ``fit_monitor_model`` held out the latest quarter of the training
snapshot days and used it both for early stopping, which chooses the number of
trees, and for the calibration and band thresholds: the calibration sat on the
rows that had chosen the model. It now cuts the days as the entry-time pipeline
cuts its slices (``fit_slices``): the earlier three quarters train (unchanged),
the latest quarter is halved by day, the earlier half for early stopping, the
later half (the larger when odd: 6 and 7 of the 50 weekly days here) for the
calibration; no day is in two groups, and fewer than 3 days are refused
(tests/test_sources.py checks the days and refits on them; it fails on the old
code). Nothing was chosen on a figure. The gain barely moves: seed 1 gives
1.064 as before (crossings only 0.921, all sources 0.979 from 0.980; ceiling
1.086); the fresh draws 10 to 15 give 1.058, 1.061, 1.081, 1.062, 1.095 and
1.079, **mean 1.073** (SD 0.015, range 1.058 to 1.095; before 1.072, SD 0.015,
range 1.057 to 1.095): **NOT MET**, with a ceiling of at most 1.119 over these
draws (1.076 to 1.119; before at most 1.118). Crossings only reaches a mean
PR-AUC of 0.913 (0.914 before), all sources 0.979 (unchanged), still three
quarters of what crossings only leaves ((0.979 - 0.913) / (1 - 0.913) = 0.76).
The other bars are met as before (overstay lists 1,145 of 1,145, entry-time
ratios 0.996 and 0.903, database 1); the entry-time intervals moved a little
(the bootstrap now resamples travellers, a change merged since the fourth round).

The table is a re-run on the code of the third trust round (2026-12-06, 07:46): a document is
ambiguous only from when a second traveller is seen with it; a stay's own records are no longer
counted among its prior records at entry (the generator files some first reports hours before the
entry they follow, and they were counted); an overstay of 60 days is a deportation and a ban, not a
charge (12 more enforcement rows); enforcement dated before the overstay it answers is unlinked (1
record). The entry-time ratios with all sources moved (AUC 0.9963 to 0.9945, PR-AUC 0.9028 to
0.9087; both bars still met); the monitoring gain is 1.064 as before, the fresh-draw mean 1.072
(1.073 before). Nothing was chosen on it; the run shared the machine with the test suite.

The table below is the run of 2026-12-06 21:03 on the eighth round's code, whose fixes include the
monitoring snapshot's travel history (h14-feat: it was built on the open stays alone, so everyone in
the country had no earlier visit, exit or overstay; the crossings-only monitoring model now sees
it): seed 1's gain 1.054 (1.064 before; ceiling 1.079), the fresh-draw mean 1.064 (1.072 before; SD
0.018, range 1.042 to 1.087; ceiling at most 1.106): NOT MET. Nothing was chosen on it; the run
shared the machine with mutation runs and other benchmarks (1821 s).

The run before it was on the code with the sources red team's fixes merged (2026-12-06:
records on a visa-run day linked to the stay they were made in, unknown travellers counted as
such, contract-breaking permit and enforcement records refused, re-entered stays out of the
monitoring snapshot): every figure other than the timings is the same to the digits shown, so
none of those fixes touched what the generator makes. Nothing was chosen on it. The timings are
slower: four other jobs shared the machine for most of the run (1551 s against 793 s).

Timings are wall-clock on a shared 2-core machine under load from other jobs.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from riskmodel.core.config import load_config
from riskmodel.core.datasets import make_crossings
from riskmodel.core.risk import RiskConfig, train_risk_model
from riskmodel.core.risk.train import as_of_cutoff, as_of_tables
from riskmodel.core.sources.features import SOURCE_HISTORY_FEATURES, add_source_history, link_all, monitoring_snapshot
from riskmodel.core.sources.generate import make_sources
from riskmodel.core.sources.monitor import HORIZON_DAYS, LABEL_GAP_DAYS, fit_monitor_model, monitor, monitor_training_table
from riskmodel.core.stays import build_stays

from benchmarks.__main__ import HERE

N_TRAVELLERS = 40_000
#: The in-country features and the weekly training snapshots were chosen looking at the seed-0 draw; the figures
#: come from a fresh draw that chose nothing.
SEED = 1
#: Pre-registered before they were ever drawn (2026-12-05): three more fresh draws of the same size, on which nothing was
#: chosen or tuned, for the spread of the monitoring gain between draws. Seed 1 was seen once before this round (the
#: run of 2026-12-04), so these are the cleaner figure; the bar's figure stays ``risk_prauc_gain_all_sources`` on seed 1,
#: as it was declared, and the mean over these draws is reported next to it, not in its place (until seeds 10 to 15, below).
#: Seeds 7, 8 and 9 were pre-registered (2026-12-05, 05:02 UTC) before they were ever drawn, in a round that changed no
#: feature, model or setting (the changes tried on the development draws 0, 2, 3 moved the gain by noise and were dropped),
#: so that the mean over six draws that chose nothing says where the gain lies.
#: Seeds 10 to 15 were pre-registered (2026-12-05, 07:10 UTC) before they were ever drawn, after the monitoring target
#: changed (an overstay beginning within HORIZON_DAYS of the snapshot, every row kept, instead of the eventual outcome on
#: the rows whose outcome was known on the label day): seeds 4-9 were drawn with the old target, so the new target is
#: read on six draws that chose nothing, once each; the bar is read on their mean, seed 1 is reported beside it.
FRESH_SEEDS = (10, 11, 12, 13, 14, 15)
HOLDOUT_DAYS = pd.date_range("2023-06-30", "2023-08-25", freq="14D")
# weekly: the monitor rescores every day, and a week apart the snapshots of one stay still differ (days, reports, applications).
# Pre-registered 2026-12-05 09:55 UTC, before any fresh draw was drawn with it: the training snapshots end LABEL_GAP_DAYS
# (the 14 days' horizon and 7 days for late records) before the label day, the first holdout day, instead of 2023-03-31
# (91 days before it, a leftover of the eventual-outcome label, which needed months to mature). It follows from the
# target, not from a figure: on the development draws (20,000 travellers) it moved the gain from 1.080 to 1.078 (seed 0)
# and from 1.061 to 1.054 (seed 2). Fresh seeds 10 to 15 are drawn again with it and reported whatever they say.
TRAIN_DAYS = pd.date_range("2022-07-01", HOLDOUT_DAYS[0] - pd.Timedelta(days=LABEL_GAP_DAYS), freq="7D")
ABOUT = __doc__
BARS = {
    # read on the mean over the pre-registered fresh draws, as declared (FRESH_SEEDS); seed 1 is reported beside it
    "risk_prauc_gain_all_sources_fresh_mean": (">=", 1.2),
    # the risk issue's bars (issue 14), against the observable oracle of the entry
    "entry_auc_over_observable_all_sources": (">=", 0.98),
    "entry_prauc_over_observable_all_sources": (">=", 0.90),
    # both are at most 1: ">= 1" means "== 1"
    "monitor_overstay_list_recall": (">=", 1.0),
    "monitor_overstay_list_precision": (">=", 1.0),
    "sources_db_equals_parquet": (">=", 1),
}
_KINDS = ("crossings", "presence_reports", "permit_applications", "enforcement", "all")


def _fresh_draw_gain(seed: int, n_travellers: int) -> dict:
    """The monitoring PR-AUC with the crossings only and with every source on one more fresh draw (run in its own process)."""
    warnings.filterwarnings("ignore", module="riskmodel")
    src = make_sources(make_crossings(n_travellers, "2017-01-01", "2023-12-31", seed=seed), seed=seed)
    train = monitor_training_table(src.crossings, src.tables(), TRAIN_DAYS, HOLDOUT_DAYS[0], horizon_days=HORIZON_DAYS)
    hold = monitor_training_table(src.crossings, src.tables(), HOLDOUT_DAYS, src.as_of, horizon_days=HORIZON_DAYS)
    y = hold["label"].to_numpy()
    pr = {k: average_precision_score(y, fit_monitor_model(train, sources=k).predict_proba(hold)[:, 1]) for k in ("crossings", "all")}
    return {"crossings": pr["crossings"], "all": pr["all"], "gain": pr["all"] / pr["crossings"]}


def _fresh_draws_figures(per_seed: dict[int, dict]) -> dict:
    gains = np.array([r["gain"] for r in per_seed.values()])
    out = {f"risk_prauc_gain_all_sources_seed{s}": r["gain"] for s, r in per_seed.items()}
    out |= {f"monitor_pr_auc_crossings_seed{s}": r["crossings"] for s, r in per_seed.items()}
    out |= {f"monitor_pr_auc_all_seed{s}": r["all"] for s, r in per_seed.items()}
    # the largest gain any model could show on these draws: 1 over the lowest crossings-only PR-AUC among them
    ceiling = max(1.0 / r["crossings"] for r in per_seed.values())
    return {"risk_prauc_gain_all_sources_fresh_mean": float(gains.mean()),
            "risk_prauc_gain_ceiling_fresh_max": ceiling,
            "risk_prauc_gain_all_sources_fresh_sd": float(gains.std(ddof=1)) if len(gains) > 1 else float("nan"),
            "risk_prauc_gain_all_sources_fresh_range": f"[{gains.min():.3f}, {gains.max():.3f}]", **out}


def _monitoring_gain(src, truth) -> tuple[dict, object]:
    tables = src.tables()
    # target: an overstay beginning within HORIZON_DAYS of the snapshot; every stay in the country not yet overstaying is a row
    train = monitor_training_table(src.crossings, tables, TRAIN_DAYS, HOLDOUT_DAYS[0], horizon_days=HORIZON_DAYS)
    hold = monitor_training_table(src.crossings, tables, HOLDOUT_DAYS, src.as_of, horizon_days=HORIZON_DAYS)
    y = hold["label"].to_numpy()
    out = {"monitor_train_rows": len(train), "monitor_train_positives": int(train["label"].sum()),
           "monitor_holdout_rows": len(hold), "monitor_holdout_positives": int(y.sum())}
    # the rows the monitor lists as at risk: permit in force ends within 14 days
    soon = hold["days_to_permit_end"].between(0, 13).to_numpy()
    out |= {"monitor_14d_rows": int(soon.sum()), "monitor_14d_positives": int(y[soon].sum())}
    models = {}
    for kind in _KINDS:
        models[kind] = fit_monitor_model(train, sources=kind)
        p = models[kind].predict_proba(hold)[:, 1]
        out[f"monitor_pr_auc_{kind}"] = average_precision_score(y, p)
        out[f"monitor_roc_auc_{kind}"] = roc_auc_score(y, p)
        out[f"monitor_14d_pr_auc_{kind}"] = average_precision_score(y[soon], p[soon])
    # the entry-time oracles on the same rows: what was knowable at entry (observable) and with the hidden risk known
    # (full); a monitoring model knows more than either from what happened since entry, so these are references, not bounds
    t = truth.set_index("stay_id").loc[hold["stay_id"]]
    for name, col in (("entry_observable", "p_observable"), ("entry_full", "p_full")):
        out[f"monitor_pr_auc_{name}_oracle"] = average_precision_score(y, t[col].to_numpy())
        out[f"monitor_prauc_all_over_{name}_oracle"] = out["monitor_pr_auc_all"] / out[f"monitor_pr_auc_{name}_oracle"]
    base = out["monitor_pr_auc_crossings"]
    gains = {f"risk_prauc_gain_{k}": out[f"monitor_pr_auc_{k}"] / base for k in _KINDS[1:-1]}
    gains["risk_prauc_gain_all_sources_14d"] = out["monitor_14d_pr_auc_all"] / out["monitor_14d_pr_auc_crossings"]
    # PR-AUC is at most 1, so no model can gain more than 1 / (the crossings-only PR-AUC) on these rows
    return {"risk_prauc_gain_all_sources": out["monitor_pr_auc_all"] / base, "risk_prauc_gain_ceiling": 1.0 / base,
            **gains, **out}, models["all"]


def _entry_time(src, full_stays, truth) -> dict:
    """The risk issue's as-of backtest (configs/risk.yaml) with and without the sources' entry-time history."""
    cfg = load_config(HERE.parent / "configs" / "risk.yaml", RiskConfig)
    cutoff = as_of_cutoff(src.crossings, cfg.model.splits.test_fraction)
    train, holdout = as_of_tables(src.crossings, cutoff, grace_days=cfg.data.grace_days)
    # history counts only records linked before each entry and still linked then (a document seen with a second traveller
    # only later does not take them out: ``ambiguous_at``), so linking on the whole log leaks nothing
    linked = {n: r.linked for n, r in link_all(src.tables(), src.crossings, full_stays).items()}
    train, holdout = add_source_history(train, linked), add_source_history(holdout, linked)
    t = truth.set_index("stay_id").loc[holdout["stay_id"]]
    out = {"entry_as_of_cutoff": str(cutoff.date()), "entry_holdout_rows": len(holdout)}
    for label, features in (("crossings_only", cfg.model.features), ("all_sources", cfg.model.features + SOURCE_HISTORY_FEATURES)):
        model_cfg = dataclasses.replace(cfg.model, features=tuple(features))
        m = train_risk_model(train, model_cfg, fairness=cfg.fairness, holdout=holdout, baselines=False,
                             oracle=t["p_full"].to_numpy(), observable=t["p_observable"].to_numpy()).metrics
        out |= {f"entry_auc_over_observable_{label}": m["auc_over_observable"],
                f"entry_prauc_over_observable_{label}": m["prauc_over_observable"],
                f"entry_prauc_over_observable_{label}_95ci": f"[{m['prauc_over_observable_lo']:.4f}, {m['prauc_over_observable_hi']:.4f}]",
                f"entry_auc_over_oracle_full_{label}": m["auc_over_oracle"], f"entry_prauc_over_oracle_full_{label}": m["prauc_over_oracle"],
                f"entry_pr_auc_{label}": m["pr_auc"]}
    out |= {"entry_holdout_positives": int(m["positives"]), "entry_observable_pr_auc": m["observable_pr_auc"],
            "entry_oracle_full_pr_auc": m["oracle_pr_auc"]}
    return out


def _overstay_lists(src, full_stays, model) -> dict:
    s = full_stays.merge(src.truth[["stay_id", "true_final_permit_end"]], on="stay_id")
    hits = listed = truth_n = 0
    for day in HOLDOUT_DAYS:
        end = day + pd.Timedelta(days=1)
        inside = (s["entry_time"] < end) & (s["exit_time"].isna() | (s["exit_time"] >= end))
        truth = set(s.loc[inside & (day > s["true_final_permit_end"]), "stay_id"])
        got = set(monitor(src.crossings, src.tables(), day, model=model).overstays["stay_id"])
        hits, listed, truth_n = hits + len(got & truth), listed + len(got), truth_n + len(truth)
    return {"monitor_overstay_list_recall": hits / truth_n, "monitor_overstay_list_precision": hits / max(listed, 1),
            "monitor_overstays_listed": listed, "monitor_overstays_true": truth_n}


def _database(src, model) -> dict:
    try:
        from riskmodel.integrations.database import TABLES, engine_from_env, read_table, write_table
        from riskmodel.integrations.database.server import postgres_bin_dir, temporary_postgres
    except ImportError:
        return {"sources_db_equals_parquet": "skipped (pip install -e '.[db]')"}
    if postgres_bin_dir() is None:
        return {"sources_db_equals_parquet": "skipped (no PostgreSQL server installed)"}
    every = {"crossings": src.crossings, **src.tables()}
    with tempfile.TemporaryDirectory() as tmp, temporary_postgres() as url:
        engine = engine_from_env(url)
        start = time.perf_counter()
        rows = sum(write_table(engine, name, t) for name, t in every.items())
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        db = {name: read_table(engine, name) for name in TABLES}
        read = time.perf_counter() - start
        engine.dispose()
        for name, t in every.items():
            t.to_parquet(Path(tmp) / f"{name}.parquet", index=False)
        files = {name: pd.read_parquet(Path(tmp) / f"{name}.parquet") for name in every}
    via_db, _ = monitoring_snapshot(db.pop("crossings"), db, HOLDOUT_DAYS[0])
    via_files, _ = monitoring_snapshot(files.pop("crossings"), files, HOLDOUT_DAYS[0])
    same = via_db.equals(via_files) and bool(np.array_equal(model.predict_proba(via_db), model.predict_proba(via_files)))
    return {"sources_db_equals_parquet": int(same), "db_rows": rows, "db_load_seconds": loaded, "db_read_seconds": read}


def run() -> dict:
    warnings.filterwarnings("ignore", module="riskmodel")
    # the fresh draws run in their own processes next to the main one (each holds one 40k-traveller draw)
    pool = ProcessPoolExecutor(max_workers=len(FRESH_SEEDS), mp_context=multiprocessing.get_context("spawn"))
    fresh = {seed: pool.submit(_fresh_draw_gain, seed, N_TRAVELLERS) for seed in FRESH_SEEDS}
    start = time.perf_counter()
    data = make_crossings(N_TRAVELLERS, "2017-01-01", "2023-12-31", seed=SEED)
    src = make_sources(data, seed=SEED)
    full_stays = build_stays(src.crossings, validate=False)
    counts = link_all(src.tables(), src.crossings, full_stays)
    figures = {"travellers": N_TRAVELLERS, "stays": len(full_stays),
               **{f"{n}_rows": len(t) for n, t in src.tables().items()},
               **{f"unlinked_{n}": sum(v for k, v in r.counts.items() if k != "linked") for n, r in counts.items()},
               "generate_seconds": time.perf_counter() - start}
    gain, model = _monitoring_gain(src, data.truth)
    figures |= gain
    figures |= _overstay_lists(src, full_stays, model)
    figures |= _entry_time(src, full_stays, data.truth)
    figures |= _database(src, model)
    figures |= _fresh_draws_figures({seed: f.result() for seed, f in fresh.items()})
    pool.shutdown()
    return figures
