/* cli/stages.c: the list of every stage's table (cli/stages.h). */
#include "cli/stages.h"

const opt_cmd *const stage_cmds[] = {&baseline_cmd, &ssdh_cmd, &eval_cmd, &index_cmd, &search_cmd, &serve_cmd, NULL};
