namespace detour {}
