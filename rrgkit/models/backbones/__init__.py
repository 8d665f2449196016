# Copyright (c) rrgkit contributors. All rights reserved.
__all__ = []
