"""Identifiability check for the planted benchmark: train the planted genotype and other drawn
genotypes from scratch on the teacher's labels; does the planted one fit the held-out labels best?"""

import json, sys, time
import torch, torch.nn.functional as F
import factorspace as fs
from factorspace.evidence.draw import draw_genotype
from factorspace.evidence.teacher import student_view
from factorspace.genotype import load_genotype
from factorspace.retrain import build_network
from factorspace.schema.train import NetworkConfig
from factorspace.space import Space

seed_dir, classes, others, epochs = (
    sys.argv[1],
    int(sys.argv[2]),
    int(sys.argv[3]),
    int(sys.argv[4]),
)
recipe = fs.load_recipe("recipes/plant_tiny.yaml")
space = Space(recipe.space)
data = torch.load(f"{seed_dir}/data.pt")
x = student_view(data["images"], recipe.data)
y = data["labels"]
n = len(y) // 2
planted = load_genotype(f"{seed_dir}/planted.json")
cands = [("planted", planted)] + [
    (f"drawn{s}", draw_genotype(space, 1000 + s)) for s in range(others)
]
rows = []
for name, g in cands:
    torch.manual_seed(0)
    net = build_network(
        g, NetworkConfig(channels=8, cells=3, classes=classes, auxiliary=False, drop_path=0.0)
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    t = time.time()
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(n)
        for i in range(0, n, 32):
            idx = perm[i : i + 32]
            out = net(x[idx])
            out = out[0] if isinstance(out, tuple) else out
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        out = net(x[n:])
        out = out[0] if isinstance(out, tuple) else out
        acc = float((out.argmax(1) == y[n:]).float().mean())
        vl = float(F.cross_entropy(out, y[n:]))
    rows.append(
        {"genotype": name, "val_acc": acc, "val_loss": vl, "seconds": round(time.time() - t)}
    )
    print(rows[-1], flush=True)
json.dump(rows, open(f"{seed_dir}/oracle.json", "w"), indent=1)
