import type { ClusterModel } from "../spec/build-cluster-spec";
import type { MonitoringFiles } from "../spec/cluster-spec";
import { renderAlertRules } from "./alert-rules";
import { renderCertificateReportScript } from "./certificate-report";
import { renderExporterQueries } from "./exporter-queries";
import { renderGrafanaDashboard } from "./grafana-dashboard";
import { renderJobReportScript } from "./job-report";

/** The rule file, the exporter's queries and the runner's report scripts, rendered from the model. Pure: same model, same bytes. */
export function renderMonitoringFiles(model: ClusterModel): MonitoringFiles {
  return {
    "alerts.yaml": renderAlertRules(model),
    "exporter-queries.yaml": renderExporterQueries(model),
    "report-job.sh": renderJobReportScript(model),
    "report-certificates.sh": renderCertificateReportScript(model),
    "grafana-dashboard.json": renderGrafanaDashboard(model),
  };
}
