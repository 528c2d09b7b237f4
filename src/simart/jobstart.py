"""First import of every workflow script: the job's process loads its libraries without
garbage collection, and what they loaded is never scanned again.

Each Snakemake script job is a fresh Python process that imports torch, numpy, pandas, …
Python's cyclic garbage collector runs again and again while those imports allocate
(finding nothing to free: modules live until the process ends) and once more over
everything at exit. Measured with torch 2.14.1 on the 2-core machine: importing torch and
the evaluation modules took 3.7 s with collection on, 3.0 s with it off; the process's exit
after ``import torch`` 1.2 s, 0.4 s with the loaded objects frozen (``gc.freeze``). A
``make run`` starts ~240 script jobs: minutes of its CPU time.

So: importing this module turns collection off; :func:`simart.runlog.setup`, which every
script calls once its imports are done, freezes what is loaded and turns collection on
again for the job's own work. A process spawned from a script (the ranks of
a data-parallel training import the script again) turns it on at the start of
:func:`simart.train.distributed._worker`. Import it nowhere else: a library import must not
change the garbage collector of its importer.

In a local run, it first hands the job to the run's warm server (:mod:`simart.warmstart`):
a process that has loaded the libraries once forks the job's process.
"""

from __future__ import annotations

import gc

gc.disable()

from simart import warmstart  # the standard library only

# a local run's warm server runs this job in a process with its libraries loaded (and this
# process exits with its status); otherwise (no server, a cluster job, a spawned rank) the
# job goes on here
warmstart.delegate()
