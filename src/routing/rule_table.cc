// Placeholder until the rule engine lands.
#include "routing/rule_table.h"
