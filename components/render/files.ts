import type { ClusterModel } from "../spec/build-cluster-spec";
import type { RenderedFiles } from "../spec/cluster-spec";
import { renderCheckDataDir } from "./data-dir-check";
import { renderHotStandbyOrder } from "./hot-standby-order";
import { renderInitRoles } from "./init-roles";
import { renderStartMember } from "./member-entrypoint";
import { renderPgHbaConf } from "./pg-hba-conf";
import { renderPgIdentConf } from "./pg-ident-conf";
import {
  renderPgbackrestConf,
  renderPgbackrestDrillConf,
  renderPgbackrestRunnerConf,
} from "./pgbackrest-conf";
import { renderPostgresqlConf } from "./postgresql-conf";
import { renderBootstrapReplica } from "./replica-bootstrap";
import { renderRestoreDrill } from "./restore-drill";
import { renderSwitchoverCheck } from "./switchover";
import { renderSwitchoverGate } from "./switchover-gate";
import { renderVerifyRepository } from "./verify-repository";

/** Every file the platforms mount, rendered from the model. Pure: same model, same bytes. */
export function renderFiles(model: ClusterModel): RenderedFiles {
  return {
    "postgresql.conf": renderPostgresqlConf(model),
    "pg_hba.conf": renderPgHbaConf(model),
    "pg_ident.conf": renderPgIdentConf(model),
    "pgbackrest.conf": renderPgbackrestConf(model),
    "pgbackrest-runner.conf": renderPgbackrestRunnerConf(model),
    "check-data-dir.sh": renderCheckDataDir(model),
    "init-roles.sh": renderInitRoles(model),
    "bootstrap-replica.sh": renderBootstrapReplica(model),
    "hot-standby-order.sh": renderHotStandbyOrder(model),
    "start-member.sh": renderStartMember(model),
    "switchover-check.sh": renderSwitchoverCheck(model),
    "switchover-gate.sh": renderSwitchoverGate(model),
    "verify-repository.sh": renderVerifyRepository(model),
    "pgbackrest-drill.conf": renderPgbackrestDrillConf(model),
    "restore-drill.sh": renderRestoreDrill(model),
  };
}
