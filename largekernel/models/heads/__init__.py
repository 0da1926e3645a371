from .point_cloud import *  # noqa: F401,F403
