import type { RoleReloadPlan } from '../config/index.js';
import type { Logger } from '../telemetry/index.js';

/**
 * Logs what a config reload did: each mount whose roles changed (`config.roles_reloaded`, with the
 * role names added, removed and changed), each part that needs a restart
 * (`config.restart_required`), warnings the previous config had not (`config.insecure`), then
 * `config.reloaded`. Role names are not secret; no value of the file is logged.
 */
export const createReloadLog = (log: Logger, startWarnings: readonly string[]) => {
  let warned = new Set(startWarnings);
  return (plan: RoleReloadPlan, sections: readonly string[], warnings: readonly string[]) => {
    for (const warning of warnings)
      if (!warned.has(warning)) log.warn({ event: 'config.insecure', warning }, 'config.insecure');
    warned = new Set(warnings);
    for (const { mount, roles, added, removed, changed } of plan.roleSets) {
      log.info(
        { event: 'config.roles_reloaded', mount, roles: roles.size, added, removed, changed },
        'config.roles_reloaded',
      );
    }
    for (const part of plan.restartRequired) {
      const detail =
        part.change === 'added'
          ? 'the mount is not served until authgate restarts'
          : part.change === 'removed'
            ? 'the mount keeps running, with its roles, until authgate restarts'
            : 'not applied, nor the roles of this mount: restart authgate to apply';
      log.warn({ event: 'config.restart_required', ...part, detail }, 'config.restart_required');
    }
    if (sections.length > 0) {
      log.warn(
        { event: 'config.restart_required', sections, detail: 'not applied: restart authgate to apply' },
        'config.restart_required',
      );
    }
    log.info(
      {
        event: 'config.reloaded',
        rolesReloaded: plan.roleSets.map((r) => r.mount),
        restartRequired: plan.restartRequired.map((r) => r.mount),
        sectionsNotApplied: sections,
      },
      'config.reloaded',
    );
  };
};
