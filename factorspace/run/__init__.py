"""Runs: what a search and a re-training share. Imports nothing above the schema.

- :mod:`~factorspace.run.base`: :class:`~factorspace.run.base.Run`, the base of ``Search`` and
  ``Trainer`` (checkpoint save and restore, ``run.json`` status, early ends), and ``open_run``
  (a start that leaves nothing behind when it fails);
- :mod:`~factorspace.run.rundir`: :class:`~factorspace.run.rundir.RunDir`, the run directory's
  files by name, and making, claiming and listing run directories;
- :mod:`~factorspace.run.lock`: one process per run directory;
- :mod:`~factorspace.run.atomic`, :mod:`~factorspace.run.checkpoint`: atomic writes, checkpoints
  (checksummed);
- :mod:`~factorspace.run.device`, :mod:`~factorspace.run.seeding`,
  :mod:`~factorspace.run.precision`: devices and batches, seeds and random state, autocast and
  loss scaling (``precision: fp32|bf16|fp16``);
- :mod:`~factorspace.run.stopping`, :mod:`~factorspace.run.resume`: signals, resuming;
- :mod:`~factorspace.run.distributed`, :mod:`~factorspace.run.syncbn`: several processes;
- :mod:`~factorspace.run.environment`, :mod:`~factorspace.run.runtime`,
  :mod:`~factorspace.run.tensorboard`: what made a run, process settings, TensorBoard.
"""
