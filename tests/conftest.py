"""Test-session settings shared by the whole sk_mtl suite."""

import torch

# The tests fit tiny networks (a few hundred rows, batches of 64). With several intra-op
# threads, each small torch op pays a thread hand-off that costs milliseconds as soon as the
# (2-core) machine is busy: measured 16 us per op with one thread against 8 ms with two
# under load, which made a 20-epoch fit take 2 s instead of 0.15 s. Worker processes of
# GridSearchCV(n_jobs=2) get one thread each from joblib anyway.
torch.set_num_threads(1)
