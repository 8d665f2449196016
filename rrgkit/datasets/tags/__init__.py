# Copyright (c) rrgkit contributors. All rights reserved.
