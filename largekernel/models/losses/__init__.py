from .nkd import NKDLoss, nkd_terms

__all__ = ['NKDLoss', 'nkd_terms']
