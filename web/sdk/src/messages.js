// The words the SDK shows, per language; init({messages}) overrides any of them.

export const MESSAGES = {
  en: { next: "Next", done: "Done", skip: "Skip", close: "Close", showMe: "Show me", notNow: "Not now", help: "Help", checklist: "Getting started", progress: "Progress", completed: "done", skipped: "skipped", pending: "to do", in_progress: "in progress" },
  fr: { next: "Suivant", done: "Terminé", skip: "Passer", close: "Fermer", showMe: "Montrez-moi", notNow: "Plus tard", help: "Aide", checklist: "Premiers pas", progress: "Progression", completed: "fait", skipped: "passé", pending: "à faire", in_progress: "en cours" },
  de: { next: "Weiter", done: "Fertig", skip: "Überspringen", close: "Schließen", showMe: "Zeigen", notNow: "Später", help: "Hilfe", checklist: "Erste Schritte", progress: "Fortschritt", completed: "erledigt", skipped: "übersprungen", pending: "offen", in_progress: "begonnen" },
  es: { next: "Siguiente", done: "Listo", skip: "Omitir", close: "Cerrar", showMe: "Muéstrame", notNow: "Ahora no", help: "Ayuda", checklist: "Primeros pasos", progress: "Progreso", completed: "hecho", skipped: "omitido", pending: "pendiente", in_progress: "en curso" },
  ar: { next: "التالي", done: "تم", skip: "تخطٍّ", close: "إغلاق", showMe: "أرني", notNow: "ليس الآن", help: "مساعدة", checklist: "البداية", progress: "التقدم", completed: "تم", skipped: "تم التخطي", pending: "للقيام", in_progress: "قيد التنفيذ" },
};

/** translator picks the locale's words, falling back to its language, then English. */
export function translator(locale, overrides) {
  const lang = String(locale || (typeof navigator !== "undefined" && navigator.language) || "en").toLowerCase();
  const base = MESSAGES[lang] || MESSAGES[lang.split("-")[0]] || MESSAGES.en;
  const words = { ...MESSAGES.en, ...base, ...(overrides || {}) };
  return (key) => words[key] || key;
}
