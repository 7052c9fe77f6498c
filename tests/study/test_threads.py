"""Splitting the cores between a study's workers."""

from factorspace.study.threads import available_cores, cgroup_cores, threads_per_worker, worker_env


def test_available_cores_is_the_tightest_limit():
    assert available_cores(env={}, affinity=16, cpu_max="max 100000") == 16
    assert available_cores(env={}, affinity=16, cpu_max="400000 100000") == 4
    assert available_cores(env={}, affinity=16, cpu_max="150000 100000") == 2  # 1.5 rounds up
    assert available_cores(env={"OMP_NUM_THREADS": "3"}, affinity=16, cpu_max="") == 3
    assert available_cores(env={"OMP_NUM_THREADS": "8"}, affinity=2, cpu_max="") == 2
    assert available_cores(env={"OMP_NUM_THREADS": "x"}, affinity=6, cpu_max="") == 6


def test_cgroup_cpu_max():
    assert cgroup_cores("max 100000\n") is None and cgroup_cores(None) is None
    assert cgroup_cores("50000 100000") == 1


def test_threads_are_split_evenly_and_never_zero():
    assert threads_per_worker(1, 16) == 16
    assert threads_per_worker(4, 16) == 4
    assert threads_per_worker(3, 16) == 5
    assert threads_per_worker(4, 2) == 1


def test_each_worker_gets_its_threads_and_with_several_gpus_one_gpu():
    env = worker_env(1, 4, gpus=0, base={"PATH": "/bin"})
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}
    assert worker_env(3, 2, gpus=2, base={})["CUDA_VISIBLE_DEVICES"] == "1"
    visible = {"CUDA_VISIBLE_DEVICES": "4,6"}
    assert worker_env(0, 2, gpus=2, base=visible)["CUDA_VISIBLE_DEVICES"] == "4"
    assert "CUDA_VISIBLE_DEVICES" not in worker_env(0, 2, gpus=1, base={})
