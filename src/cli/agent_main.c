/* virtlab-agent: the agent alone, linked statically for minimal guests. */
#include "cli/commands.h"

int main(int argc, char **argv)
{
	return vl_cmd_agent(argc, argv);
}
