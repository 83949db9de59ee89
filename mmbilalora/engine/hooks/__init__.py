from .bilalora_hook import BiLaLoRAHook, rank_gates
from .test_report_hook import TestReportHook

__all__ = ['BiLaLoRAHook', 'TestReportHook', 'rank_gates']
