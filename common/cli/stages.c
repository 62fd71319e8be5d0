/* cli/stages.c: the list of every stage's table (cli/stages.h). */
#include "cli/stages.h"

const opt_cmd *const stage_cmds[] = {&ingest_cmd,   &features_cmd, &graph_cmd, &train_cmd,  &encode_cmd, &and_cmd,
                                     &eval_cmd,     &baseline_cmd, &ssdh_cmd,  &index_cmd,  &search_cmd, &serve_cmd,
                                     &tsne_cmd,     &pairs_cmd,    &montage_cmd, NULL};
