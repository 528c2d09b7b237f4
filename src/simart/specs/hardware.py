"""Peak numbers of the GPUs the cost model (:mod:`simart.workflow.cost`) projects onto.

Torch-free facts, one row per card, each number from the vendor's datasheet named beside it.
TFLOP/s are *dense* (the datasheets' headline tensor figures with 2:4 sparsity are twice
these); ``bf16`` / ``fp16`` are tensor-core rates with FP32 accumulation (what PyTorch's
autocast runs), ``fp32`` the non-tensor FP32 rate. Memory bandwidth in GB/s (10^9 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GPUSpec:
    """Peak rates of one GPU (see the module docstring for units)."""

    name: str
    label: str
    bf16_tflops: float
    fp16_tflops: float
    fp32_tflops: float
    memory_gb: float
    bandwidth_gbs: float
    source: str

    def peak_flops(self, precision: str = "bf16") -> float:
        """Peak FLOP/s of ``precision`` (bf16 | fp16 | fp32)."""
        rates = {"bf16": self.bf16_tflops, "fp16": self.fp16_tflops, "fp32": self.fp32_tflops}
        if precision not in rates:
            raise ValueError(f"unknown precision {precision!r}; allowed: {sorted(rates)}")
        return rates[precision] * 1e12


GPUS: dict[str, GPUSpec] = {
    # NVIDIA H100 Tensor Core GPU Datasheet (H100 SXM column): BF16 / FP16 Tensor Core
    # 1,979 TFLOPS with sparsity (989.4 dense), FP32 67 TFLOPS, 80 GB HBM3, 3.35 TB/s
    "H100": GPUSpec("H100", "NVIDIA H100 SXM5 80GB", 989.4, 989.4, 67.0, 80.0, 3350.0,
                    "NVIDIA H100 Tensor Core GPU Datasheet, H100 SXM"),
    # NVIDIA H100 Tensor Core GPU Datasheet (H100 PCIe column): BF16 / FP16 Tensor Core
    # 1,513 TFLOPS with sparsity (756.5 dense), FP32 51 TFLOPS, 80 GB HBM2e, 2 TB/s
    "H100PCIe": GPUSpec("H100PCIe", "NVIDIA H100 PCIe 80GB", 756.5, 756.5, 51.0, 80.0, 2000.0,
                        "NVIDIA H100 Tensor Core GPU Datasheet, H100 PCIe"),
    # NVIDIA H200 Tensor Core GPU Datasheet (H200 SXM column): BF16 / FP16 Tensor Core
    # 1,979 TFLOPS with sparsity (989.4 dense), FP32 67 TFLOPS, 141 GB HBM3e, 4.8 TB/s
    "H200": GPUSpec("H200", "NVIDIA H200 SXM 141GB", 989.4, 989.4, 67.0, 141.0, 4800.0,
                    "NVIDIA H200 Tensor Core GPU Datasheet, H200 SXM"),
    # NVIDIA A100 Tensor Core GPU Datasheet (A100 80GB SXM column): BF16 / FP16 Tensor Core
    # 312 TFLOPS (624 with sparsity), FP32 19.5 TFLOPS, 80 GB HBM2e, 2,039 GB/s
    "A100": GPUSpec("A100", "NVIDIA A100 80GB SXM", 312.0, 312.0, 19.5, 80.0, 2039.0,
                    "NVIDIA A100 Tensor Core GPU Datasheet, A100 80GB SXM"),
    # NVIDIA Ada Lovelace GPU Architecture whitepaper (v2.1), GeForce RTX 4090 column: peak
    # BF16 / FP16 Tensor TFLOPS with FP32 accumulate 165.2 (330.4 with sparsity), peak FP32
    # 82.6 TFLOPS, 24 GB GDDR6X, 1,008 GB/s
    "RTX4090": GPUSpec("RTX4090", "NVIDIA GeForce RTX 4090", 165.2, 165.2, 82.6, 24.0,
                       1008.0, "NVIDIA Ada Lovelace GPU Architecture whitepaper v2.1, "
                               "RTX 4090"),
}


def gpu_of_device(device_name: str) -> GPUSpec | None:
    """The row of a CUDA device name as torch reports it (``NVIDIA H100 80GB HBM3``,
    ``NVIDIA H100 PCIe``, ``NVIDIA H200``...): the longest row name it contains, spaces and
    case ignored; None when no row matches."""
    flat = device_name.replace(" ", "").lower()
    for key in sorted(GPUS, key=len, reverse=True):
        if key.lower() in flat:
            return GPUS[key]
    return None


def gpu(name: str) -> GPUSpec:
    """The row of ``name``; ``ValueError`` naming the allowed names otherwise."""
    if name not in GPUS:
        raise ValueError(f"unknown GPU {name!r}; allowed: {sorted(GPUS)}")
    return GPUS[name]
