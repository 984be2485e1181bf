from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper, adapt_amp_to_cpu, warn_amp_on_cpu

__all__ = ['CPUAmpOptimWrapper', 'adapt_amp_to_cpu', 'warn_amp_on_cpu']
