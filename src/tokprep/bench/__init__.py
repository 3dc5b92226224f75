"""Measurements behind `tokprep bench`: pure functions that time one thing and return numbers.

    tokprep.bench.encode       encoding speed vs tiktoken, Hugging Face, the textbook; worst cases
    tokprep.bench.train        BPE training vs Hugging Face's BpeTrainer and tiktoken's naive one
    tokprep.bench.dataloading  DataLoader speed and memory vs the textbook's; `prepare`; CUDA
    tokprep.bench.embeddings   embedding forward vs the textbook's two nn.Embedding layers
    tokprep.bench.timing       one clock: perf_counter on the CPU, CUDA events on a GPU
    tokprep.bench.report       the machine, the table, results.json and the PNG charts
    tokprep.bench.cli          the command: sizes (`Plan`), progress, failures, exit codes

Each measurement interleaves and repeats its contenders itself, so a change in the machine's
speed hits all of them alike. Nothing here is imported by `import tokprep`; the modules import
torch, tokenizers and matplotlib only inside the functions that need them.
"""
